/* fuzz-hepmc3.c — the HepMC3 ASCII reader from a file, as `pflow simulate --jets FILE` opens
 * it (tests/jets/fuzz-hepmc3.c fuzzes the in-memory reader). Every input ends in the end of
 * the file or a GError naming the file; after either, the reader stays there. */
#include "pf-fuzz.h"
#include "pf-hepmc3.h"
#include <math.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = pf_fuzz_write_input ("input.hepmc3", data, size);
  GError *error = NULL;
  PfHepmc3Reader *r = pf_hepmc3_reader_open (path, &error);
  PF_FUZZ_CHECK (r != NULL, "cannot open %s: %s", path, error ? error->message : "?");
  PfParticleList l;
  pf_particle_list_init (&l);
  gint64 num = 0;
  /* each event takes at least one line, so the loop is bounded by the input */
  while (pf_hepmc3_reader_next (r, &l, &num, &error))
    for (gsize i = 0; i < l.n; i++)
      {
        const PfParticle *p = &l.items[i];
        /* what the simulator is handed must be finite (it feeds eta, phi and deposits) */
        PF_FUZZ_CHECK (isfinite (p->px) && isfinite (p->py) && isfinite (p->pz)
                       && isfinite (p->e) && p->e >= 0, "particle %zu of event %" G_GINT64_FORMAT
                       " is not a finite four-momentum", i, num);
        PF_FUZZ_CHECK (isfinite (pf_particle_eta (p)) && isfinite (pf_particle_phi (p)),
                       "particle %zu of event %" G_GINT64_FORMAT " has no finite direction",
                       i, num);
      }
  if (error)
    pf_fuzz_check_error (&error, path);
  PF_FUZZ_CHECK (!pf_hepmc3_reader_next (r, &l, &num, &error), "event after the end");
  if (error)
    pf_fuzz_check_error (&error, path);
  pf_particle_list_clear (&l);
  pf_hepmc3_reader_free (r);
  return 0;
}
