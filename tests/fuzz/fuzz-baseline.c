/* fuzz-baseline.c — the baseline key file that `pflow eval` reads back: pf_baseline_load
 * returns finite constants (rms may be NaN: "no fit residual", by design) or a GError naming
 * the file. */
#include "pf-fuzz.h"
#include "pf-baseline.h"
#include <math.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = pf_fuzz_write_input ("input.ini", data, size);
  GError *error = NULL;
  PfBaseline bl;
  if (pf_baseline_load (&bl, path, &error))
    PF_FUZZ_CHECK (isfinite (bl.a) && isfinite (bl.b) && isfinite (bl.a_err)
                   && isfinite (bl.b_err) && bl.a_err >= 0 && bl.b_err >= 0
                   && bl.n_events >= 0 && bl.n_pixels >= 0 && (isnan (bl.rms) || bl.rms >= 0),
                   "%s: accepted a baseline with non-finite or negative values", path);
  else
    pf_fuzz_check_error (&error, path);
  return 0;
}
