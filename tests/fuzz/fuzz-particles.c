/* fuzz-particles.c — the particle text files of `pflow jets --particles FILE` ("px py pz E"
 * lines): pf_particle_list_read_text returns finite particles or a GError naming the file. */
#include "pf-fuzz.h"
#include "pf-particles.h"
#include <math.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = pf_fuzz_write_input ("input.txt", data, size);
  GError *error = NULL;
  PfParticleList l;
  pf_particle_list_init (&l);
  if (pf_particle_list_read_text (&l, path, &error))
    for (gsize i = 0; i < l.n; i++)
      PF_FUZZ_CHECK (isfinite (l.items[i].px) && isfinite (l.items[i].py)
                     && isfinite (l.items[i].pz) && isfinite (l.items[i].e)
                     && l.items[i].e >= 0, "%s: particle %zu is not a finite four-momentum",
                     path, i);
  else
    pf_fuzz_check_error (&error, path);
  pf_particle_list_clear (&l);
  return 0;
}
