/* pf-particles.c — the particle list and PDG helpers (see pf-particles.h). */
#include "pf-particles.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pf-error.h"

void
pf_particle_list_init (PfParticleList *l)
{
  l->items = NULL;
  l->n = l->cap = 0;
}

void
pf_particle_list_clear (PfParticleList *l)
{
  g_free (l->items);
  pf_particle_list_init (l);
}

gboolean
pf_particle_list_append (PfParticleList *l, const PfParticle *p)
{
  if (l->n >= PF_PARTICLE_LIST_MAX)
    return FALSE;
  if (l->n == l->cap)
    {
      gsize cap = l->cap ? 2 * l->cap : 64;
      if (cap > PF_PARTICLE_LIST_MAX)
        cap = PF_PARTICLE_LIST_MAX;
      l->items = g_renew (PfParticle, l->items, cap);
      l->cap = cap;
    }
  l->items[l->n++] = *p;
  return TRUE;
}

double
pf_wrap_phi (double phi)
{
  if (!isfinite (phi))
    return phi;
  double w = fmod (phi + G_PI, 2 * G_PI);
  if (w < 0)
    w += 2 * G_PI;
  w -= G_PI;
  /* fmod can round up to exactly +pi; the interval is half-open */
  return w >= G_PI ? -G_PI : w;
}

double
pf_particle_pt (const PfParticle *p)
{
  return hypot (p->px, p->py);
}

double
pf_particle_eta (const PfParticle *p)
{
  double pt = pf_particle_pt (p);
  if (pt == 0.0)
    return p->pz >= 0 ? 50.0 : -50.0;
  return asinh (p->pz / pt);
}

double
pf_particle_phi (const PfParticle *p)
{
  if (p->px == 0.0 && p->py == 0.0)
    return 0.0;
  return pf_wrap_phi (atan2 (p->py, p->px));
}

void
pf_particle_set_massless (PfParticle *p, double e, double eta, double phi)
{
  double pt = e / cosh (eta);
  p->px = pt * cos (phi);
  p->py = pt * sin (phi);
  p->pz = pt * sinh (eta);
  p->e = e;
}

/* Charges of the fundamental ids 1..18 in units of e/3 (quarks, leptons). */
static const int quark_lepton_charge3[19] = {
  0, -1, 2, -1, 2, -1, 2, -1, 2, 0, 0, -3, 0, -3, 0, -3, 0, -3, 0,
};

/* Three times the charge, from the PDG numbering scheme (quark content of hadrons). */
static int
pdg_charge3 (int pdg)
{
  if (pdg == 0 || pdg == G_MININT)
    return 0;
  int a = abs (pdg), q3 = 0;
  if (a <= 18)
    q3 = quark_lepton_charge3[a];
  else if (a == 24 || a == 37)
    q3 = 3;
  else if (a < 100)
    q3 = 0;
  else if (a >= 1000000000) /* nucleus 10LZZZAAAI */
    q3 = 3 * ((a / 10000) % 1000);
  else
    {
      int n1 = (a / 1000) % 10, n2 = (a / 100) % 10, n3 = (a / 10) % 10;
      if (n2 == 0 || n3 == 0 || n2 > 6 || n3 > 6 || n1 > 6)
        return 0; /* not a quark-content id (diquarks, special codes) */
      if (n1 == 0)
        /* meson: the quark is the up-type one of the pair, the other is an antiquark */
        q3 = (n2 % 2 == 0) ? quark_lepton_charge3[n2] - quark_lepton_charge3[n3]
                           : quark_lepton_charge3[n3] - quark_lepton_charge3[n2];
      else
        q3 = quark_lepton_charge3[n1] + quark_lepton_charge3[n2] + quark_lepton_charge3[n3];
    }
  return pdg < 0 ? -q3 : q3;
}

int
pf_pdg_charge (int pdg)
{
  int q3 = pdg_charge3 (pdg);
  return q3 > 0 ? 1 : q3 < 0 ? -1 : 0;
}

PfSpecies
pf_pdg_species (int pdg)
{
  int a = pdg == G_MININT ? 0 : abs (pdg);
  if (a == 12 || a == 14 || a == 16)
    return PF_SPECIES_INVISIBLE;
  if (a == 22 || a == 11 || a == 111)
    return PF_SPECIES_EM;
  return pf_pdg_charge (pdg) != 0 ? PF_SPECIES_CHARGED_HADRON : PF_SPECIES_NEUTRAL_HADRON;
}

gboolean
pf_particle_list_read_text (PfParticleList *l, const char *path, GError **error)
{
  gchar *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, error))
    return FALSE;
  if (memchr (text, '\0', len))
    {
      g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s: binary data (NUL byte)", path);
      g_free (text);
      return FALSE;
    }
  gboolean ok = TRUE;
  int line_no = 0;
  for (char *line = text, *next; ok && line; line = next)
    {
      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      line_no++;
      char *hash = strchr (line, '#');
      if (hash)
        *hash = '\0';
      char *tok[5], *save = NULL;
      int nt = 0;
      for (char *t = strtok_r (line, " \t\r", &save); t && nt < 5;
           t = strtok_r (NULL, " \t\r", &save))
        tok[nt++] = t;
      if (nt == 0)
        continue;
      if (nt != 4)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s:%d: expected 4 numbers "
                       "(px py pz E), found %s%d fields", path, line_no, nt > 4 ? "more than " : "",
                       nt > 4 ? 4 : nt);
          ok = FALSE;
          break;
        }
      double v[4];
      static const char *names[4] = { "px", "py", "pz", "E" };
      for (int k = 0; k < 4 && ok; k++)
        {
          char *end = NULL;
          v[k] = g_ascii_strtod (tok[k], &end);
          if (end == tok[k] || *end || !isfinite (v[k]))
            {
              g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s:%d: %s '%s' is not a finite "
                           "number", path, line_no, names[k], tok[k]);
              ok = FALSE;
            }
        }
      if (ok && v[3] < 0)
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s:%d: negative energy %g", path,
                       line_no, v[3]);
          ok = FALSE;
        }
      PfParticle p = { v[0], v[1], v[2], v[3], 0, 0, PF_SPECIES_NEUTRAL_HADRON };
      if (ok && !pf_particle_list_append (l, &p))
        {
          g_set_error (error, PF_ERROR, PF_ERROR_FORMAT, "%s:%d: too many particles", path,
                       line_no);
          ok = FALSE;
        }
    }
  g_free (text);
  return ok;
}
