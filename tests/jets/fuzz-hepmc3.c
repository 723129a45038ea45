/* fuzz-hepmc3.c — libFuzzer / AFL++ target for the HepMC3 reader.
 *
 * Built with clang -fsanitize=fuzzer (see docs/jets.md) it fuzzes; built by meson with
 * fuzz-replay.c it replays tests/jets/corpus/ as a regression test. Every input must end in
 * a clean FALSE (end or GError) without a crash, a leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include "pf-hepmc3.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  PfHepmc3Reader *r = pf_hepmc3_reader_new_from_data ((const char *) data, size, "fuzz");
  PfParticleList l;
  pf_particle_list_init (&l);
  GError *error = NULL;
  gint64 num;
  double sum = 0;
  /* each event consumes at least one line, so the loop is bounded by the input */
  while (pf_hepmc3_reader_next (r, &l, &num, &error))
    for (gsize i = 0; i < l.n; i++)
      sum += l.items[i].e + pf_particle_eta (&l.items[i]);
  if (error)
    {
      /* every error names the source and a line */
      if (!g_str_has_prefix (error->message, "fuzz:"))
        __builtin_trap ();
      g_error_free (error);
    }
  /* the reader must stay at its end or error */
  if (pf_hepmc3_reader_next (r, &l, &num, NULL))
    __builtin_trap ();
  pf_particle_list_clear (&l);
  pf_hepmc3_reader_free (r);
  return sum < -1e300;
}
