/* pf-hepmc3.c — HepMC3 ASCII reader and writer (see pf-hepmc3.h).
 *
 * The reader is a line scanner: one line at a time into a bounded buffer, a record letter,
 * then whitespace-separated tokens parsed completely (a token like "1.5x" is an error, not
 * 1.5). It never trusts a count read from the file for an allocation: particles are appended
 * one by one under PF_HEPMC3_MAX_PARTICLES, and the E line's count is only compared. */
#include "pf-hepmc3.h"
#include "pf-error.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define START_V3 "HepMC::Asciiv3-START_EVENT_LISTING"
#define END_V3 "HepMC::Asciiv3-END_EVENT_LISTING"

struct _PfHepmc3Reader {
  char *name;
  FILE *fp;              /* file input, or NULL for memory input */
  const char *data;      /* memory input */
  gsize len, pos;
  GString *line;
  gint64 line_no;
  gboolean started;      /* saw the START line */
  gboolean finished;     /* saw the END line or the end of the input */
  gboolean have_pending; /* `line` holds an E line not yet consumed */
  gboolean failed;
  GError *saved_error;   /* repeated on every call after a failure */
};

static PfHepmc3Reader *
reader_new (const char *name)
{
  PfHepmc3Reader *r = g_new0 (PfHepmc3Reader, 1);
  r->name = g_strdup (name);
  r->line = g_string_sized_new (256);
  return r;
}

PfHepmc3Reader *
pf_hepmc3_reader_open (const char *path, GError **error)
{
  FILE *fp = fopen (path, "rb");
  if (!fp)
    {
      int e = errno;
      g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s: cannot open: %s", path, g_strerror (e));
      return NULL;
    }
  PfHepmc3Reader *r = reader_new (path);
  r->fp = fp;
  return r;
}

PfHepmc3Reader *
pf_hepmc3_reader_new_from_data (const char *data, gsize len, const char *name)
{
  PfHepmc3Reader *r = reader_new (name ? name : "(memory)");
  r->data = data;
  r->len = len;
  return r;
}

void
pf_hepmc3_reader_free (PfHepmc3Reader *r)
{
  if (!r)
    return;
  if (r->fp)
    fclose (r->fp);
  g_string_free (r->line, TRUE);
  g_clear_error (&r->saved_error);
  g_free (r->name);
  g_free (r);
}

static gboolean G_GNUC_PRINTF (3, 4)
fail (PfHepmc3Reader *r, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  r->failed = TRUE;
  g_clear_error (&r->saved_error);
  r->saved_error = g_error_new (PF_ERROR, PF_ERROR_FORMAT, "%s:%" G_GINT64_FORMAT ": %s",
                                r->name, r->line_no, msg);
  g_free (msg);
  if (error)
    *error = g_error_copy (r->saved_error);
  return FALSE;
}

/* Reads the next line into r->line (without the newline or a trailing CR).
 * Returns 1 with a line, 0 at the end of the input, -1 on an error (set). */
static int
read_line (PfHepmc3Reader *r, GError **error)
{
  g_string_truncate (r->line, 0);
  gboolean any = FALSE;
  r->line_no++;
  for (;;)
    {
      int c;
      if (r->fp)
        {
          c = getc (r->fp);
          if (c == EOF)
            {
              if (ferror (r->fp))
                {
                  int e = errno;
                  g_set_error (error, PF_ERROR, PF_ERROR_IO, "%s:%" G_GINT64_FORMAT
                               ": read error: %s", r->name, r->line_no, g_strerror (e));
                  r->failed = TRUE;
                  r->saved_error = g_error_copy (*error);
                  return -1;
                }
              break;
            }
        }
      else
        {
          if (r->pos >= r->len)
            break;
          c = (unsigned char) r->data[r->pos++];
        }
      any = TRUE;
      if (c == '\n')
        break;
      if (c == '\0')
        {
          fail (r, error, "NUL byte in the line (binary data, not a HepMC3 ASCII file)");
          return -1;
        }
      if (r->line->len >= PF_HEPMC3_MAX_LINE)
        {
          fail (r, error, "line longer than %d bytes", PF_HEPMC3_MAX_LINE);
          return -1;
        }
      g_string_append_c (r->line, (char) c);
    }
  if (!any)
    return 0;
  if (r->line->len && r->line->str[r->line->len - 1] == '\r')
    g_string_truncate (r->line, r->line->len - 1);
  return 1;
}

/* ---- tokens ---- */

typedef struct {
  const char *p;
} Cursor;

/* The next whitespace-separated token as (start, length); FALSE at the end of the line. */
static gboolean
next_token (Cursor *c, const char **tok, gsize *n)
{
  while (*c->p == ' ' || *c->p == '\t')
    c->p++;
  if (!*c->p)
    return FALSE;
  *tok = c->p;
  while (*c->p && *c->p != ' ' && *c->p != '\t')
    c->p++;
  *n = c->p - *tok;
  return TRUE;
}

static gboolean
token_int64 (PfHepmc3Reader *r, Cursor *c, const char *what, gint64 lo, gint64 hi, gint64 *out,
             GError **error)
{
  const char *tok;
  gsize n;
  if (!next_token (c, &tok, &n))
    return fail (r, error, "missing %s", what);
  char buf[32];
  if (n >= sizeof buf)
    return fail (r, error, "%s '%.*s...' is not an integer", what, 20, tok);
  memcpy (buf, tok, n);
  buf[n] = 0;
  char *end = NULL;
  errno = 0;
  gint64 v = g_ascii_strtoll (buf, &end, 10);
  if (end == buf || *end || errno)
    return fail (r, error, "%s '%s' is not an integer", what, buf);
  if (v < lo || v > hi)
    return fail (r, error, "%s %" G_GINT64_FORMAT " outside [%" G_GINT64_FORMAT ", %"
                 G_GINT64_FORMAT "]", what, v, lo, hi);
  *out = v;
  return TRUE;
}

static gboolean
token_double (PfHepmc3Reader *r, Cursor *c, const char *what, double *out, GError **error)
{
  const char *tok;
  gsize n;
  if (!next_token (c, &tok, &n))
    return fail (r, error, "missing %s", what);
  char buf[64];
  if (n >= sizeof buf)
    return fail (r, error, "%s '%.*s...' is not a number", what, 20, tok);
  memcpy (buf, tok, n);
  buf[n] = 0;
  char *end = NULL;
  errno = 0;
  double v = g_ascii_strtod (buf, &end);
  if (end == buf || *end)
    return fail (r, error, "%s '%s' is not a number", what, buf);
  if (!isfinite (v))
    return fail (r, error, "%s '%s' is not finite", what, buf);
  *out = v;
  return TRUE;
}

static gboolean
token_word (PfHepmc3Reader *r, Cursor *c, const char *what, char *buf, gsize size,
            GError **error)
{
  const char *tok;
  gsize n;
  if (!next_token (c, &tok, &n))
    return fail (r, error, "missing %s", what);
  if (n >= size)
    n = size - 1;
  memcpy (buf, tok, n);
  buf[n] = 0;
  return TRUE;
}

/* ---- records ---- */

typedef struct {
  gint64 number, n_declared, n_seen;
  double momentum_scale; /* to GeV */
} EventState;

static gboolean
parse_event_line (PfHepmc3Reader *r, EventState *ev, GError **error)
{
  Cursor c = { r->line->str + 1 };
  gint64 nv;
  if (!token_int64 (r, &c, "event number", G_MININT64 + 1, G_MAXINT64, &ev->number, error)
      || !token_int64 (r, &c, "vertex count", 0, G_MAXINT32, &nv, error)
      || !token_int64 (r, &c, "particle count", 0, PF_HEPMC3_MAX_PARTICLES, &ev->n_declared,
                       error))
    return FALSE;
  ev->n_seen = 0;
  ev->momentum_scale = 1.0;
  return TRUE;
}

static gboolean
parse_units_line (PfHepmc3Reader *r, EventState *ev, GError **error)
{
  Cursor c = { r->line->str + 1 };
  char mom[16], len[16];
  if (!token_word (r, &c, "momentum unit", mom, sizeof mom, error)
      || !token_word (r, &c, "length unit", len, sizeof len, error))
    return FALSE;
  if (!strcmp (mom, "GEV"))
    ev->momentum_scale = 1.0;
  else if (!strcmp (mom, "MEV"))
    ev->momentum_scale = 1e-3;
  else
    return fail (r, error, "momentum unit '%s' is neither GEV nor MEV", mom);
  if (strcmp (len, "MM") && strcmp (len, "CM"))
    return fail (r, error, "length unit '%s' is neither MM nor CM", len);
  return TRUE;
}

static gboolean
parse_particle_line (PfHepmc3Reader *r, EventState *ev, PfParticleList *out, GError **error)
{
  Cursor c = { r->line->str + 1 };
  gint64 id, parent, pdg, status;
  double v[5];
  static const char *names[5] = { "px", "py", "pz", "energy", "mass" };
  if (!token_int64 (r, &c, "particle id", 1, PF_HEPMC3_MAX_PARTICLES, &id, error))
    return FALSE;
  if (id != ev->n_seen + 1)
    return fail (r, error, "particle id %" G_GINT64_FORMAT " out of order (expected %"
                 G_GINT64_FORMAT ")", id, ev->n_seen + 1);
  if (id > ev->n_declared)
    return fail (r, error, "particle %" G_GINT64_FORMAT " beyond the %" G_GINT64_FORMAT
                 " declared on the E line", id, ev->n_declared);
  if (!token_int64 (r, &c, "production vertex", G_MININT32, G_MAXINT32, &parent, error)
      || !token_int64 (r, &c, "PDG id", -G_MAXINT32, G_MAXINT32, &pdg, error))
    return FALSE;
  for (int k = 0; k < 5; k++)
    if (!token_double (r, &c, names[k], &v[k], error))
      return FALSE;
  if (!token_int64 (r, &c, "status", G_MININT32, G_MAXINT32, &status, error))
    return FALSE;
  const char *extra;
  gsize n;
  if (next_token (&c, &extra, &n))
    return fail (r, error, "unexpected '%.*s' after the status", (int) MIN (n, 20), extra);
  ev->n_seen = id;
  if (status != 1)
    return TRUE;
  PfParticle p = {
    .px = v[0] * ev->momentum_scale, .py = v[1] * ev->momentum_scale,
    .pz = v[2] * ev->momentum_scale, .e = v[3] * ev->momentum_scale,
    .pdg = (int) pdg, .charge = pf_pdg_charge ((int) pdg), .species = pf_pdg_species ((int) pdg),
  };
  if (p.e < 0)
    return fail (r, error, "final-state particle %" G_GINT64_FORMAT " has negative energy %g",
                 id, v[3]);
  if (!pf_particle_list_append (out, &p))
    return fail (r, error, "too many particles");
  return TRUE;
}

static gboolean
finish_event (PfHepmc3Reader *r, const EventState *ev, gint64 e_line, GError **error)
{
  if (ev->n_seen != ev->n_declared)
    return fail (r, error, "event %" G_GINT64_FORMAT " (line %" G_GINT64_FORMAT ") declares %"
                 G_GINT64_FORMAT " particles but has %" G_GINT64_FORMAT, ev->number, e_line,
                 ev->n_declared, ev->n_seen);
  return TRUE;
}

gboolean
pf_hepmc3_reader_next (PfHepmc3Reader *r, PfParticleList *out, gint64 *event_number,
                       GError **error)
{
  if (r->failed)
    {
      if (error && r->saved_error)
        *error = g_error_copy (r->saved_error);
      return FALSE;
    }
  out->n = 0;
  EventState ev = { 0 };
  gboolean in_event = FALSE;
  gint64 e_line = 0;
  for (;;)
    {
      int got;
      if (r->have_pending)
        {
          r->have_pending = FALSE;
          got = 1;
        }
      else if (r->finished)
        got = 0;
      else
        got = read_line (r, error);
      if (got < 0)
        return FALSE;
      if (got == 0)
        {
          r->finished = TRUE;
          if (!r->started)
            return fail (r, error, "no '" START_V3 "' line: not a HepMC3 ASCII file");
          if (in_event)
            {
              if (!finish_event (r, &ev, e_line, error))
                return FALSE;
              if (event_number)
                *event_number = ev.number;
              return TRUE;
            }
          return FALSE;
        }
      const char *s = r->line->str;
      if (r->line->len == 0)
        continue;
      if (!r->started)
        {
          if (!strcmp (s, START_V3))
            r->started = TRUE;
          else if (g_str_has_prefix (s, "HepMC::IO_GenEvent"))
            return fail (r, error, "HepMC2 (IO_GenEvent) format; only HepMC3 ASCII is read");
          else if (!g_str_has_prefix (s, "HepMC::"))
            return fail (r, error, "expected the '" START_V3 "' line before any record");
          continue;
        }
      if (g_str_has_prefix (s, "HepMC::"))
        {
          if (strcmp (s, END_V3))
            {
              if (!strcmp (s, START_V3))
                return fail (r, error, "second START_EVENT_LISTING without an END");
              continue; /* HepMC::Version and the like */
            }
          r->finished = TRUE; /* a later call reads nothing more */
          if (in_event)
            {
              if (!finish_event (r, &ev, e_line, error))
                return FALSE;
              if (event_number)
                *event_number = ev.number;
              return TRUE;
            }
          return FALSE;
        }
      if (r->line->len > 1 && s[1] != ' ' && s[1] != '\t')
        return fail (r, error, "record '%.*s...' is not a letter followed by a space",
                     (int) MIN (r->line->len, 10), s);
      switch (s[0])
        {
        case 'E':
          if (in_event)
            {
              /* the next event starts: hand this one out, keep the line for the next call */
              if (!finish_event (r, &ev, e_line, error))
                return FALSE;
              r->have_pending = TRUE;
              if (event_number)
                *event_number = ev.number;
              return TRUE;
            }
          if (!parse_event_line (r, &ev, error))
            return FALSE;
          in_event = TRUE;
          e_line = r->line_no;
          break;
        case 'U':
        case 'P':
        case 'V':
        case 'W':
          if (!in_event)
            return fail (r, error, "'%c' record outside an event (no E line before it)", s[0]);
          if (s[0] == 'U' && !parse_units_line (r, &ev, error))
            return FALSE;
          if (s[0] == 'P' && !parse_particle_line (r, &ev, out, error))
            return FALSE;
          break;
        case 'A': /* attributes, tool, weight names, cross section, comments */
        case 'T':
        case 'N':
        case 'C':
          break;
        default:
          return fail (r, error, "unknown record '%c'", g_ascii_isprint (s[0]) ? s[0] : '?');
        }
    }
}

/* ---- writer ---- */

gboolean
pf_hepmc3_write (const char *path, const PfParticleList *events, int n_events, gboolean mev,
                 GError **error)
{
  const double scale = mev ? 1e3 : 1.0;
  const double beam_e = 3500.0, mp = 0.938272;
  GString *s = g_string_new ("HepMC::Version 3.02.05\n" START_V3 "\n");
  char b[6][G_ASCII_DTOSTR_BUF_SIZE];
  for (int i = 0; i < n_events; i++)
    {
      const PfParticleList *l = &events[i];
      g_string_append_printf (s, "E %d 1 %" G_GSIZE_FORMAT "\nU %s MM\n", i, l->n + 2,
                              mev ? "MEV" : "GEV");
      double pz_beam = sqrt (beam_e * beam_e - mp * mp);
      for (int k = 0; k < 2; k++)
        g_string_append_printf (s, "P %d 0 2212 0 0 %s %s %s 4\n", k + 1,
                                g_ascii_dtostr (b[0], sizeof b[0], (k ? -pz_beam : pz_beam) * scale),
                                g_ascii_dtostr (b[1], sizeof b[1], beam_e * scale),
                                g_ascii_dtostr (b[2], sizeof b[2], mp * scale));
      g_string_append (s, "V -1 0 [1,2]\n");
      for (gsize j = 0; j < l->n; j++)
        {
          const PfParticle *p = &l->items[j];
          double m2 = p->e * p->e - p->px * p->px - p->py * p->py - p->pz * p->pz;
          double m = m2 > 0 ? sqrt (m2) : 0.0;
          g_string_append_printf (s, "P %" G_GSIZE_FORMAT " -1 %d %s %s %s %s %s 1\n", j + 3,
                                  p->pdg,
                                  g_ascii_dtostr (b[0], sizeof b[0], p->px * scale),
                                  g_ascii_dtostr (b[1], sizeof b[1], p->py * scale),
                                  g_ascii_dtostr (b[2], sizeof b[2], p->pz * scale),
                                  g_ascii_dtostr (b[3], sizeof b[3], p->e * scale),
                                  g_ascii_dtostr (b[4], sizeof b[4], m * scale));
        }
    }
  g_string_append (s, END_V3 "\n");
  gboolean ok = g_file_set_contents (path, s->str, s->len, error);
  g_string_free (s, TRUE);
  return ok;
}
