/* pf-ops-fast-info.c — what the fast CPU path runs on, in words (pflow devices). */
#include "pf-ops-fast.h"
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

static const char *
isa_name (dnnl_cpu_isa_t isa)
{
  switch ((int) isa)
    {
    case dnnl_cpu_isa_sse41: return "SSE4.1";
    case dnnl_cpu_isa_avx: return "AVX";
    case dnnl_cpu_isa_avx2: return "AVX2";
    case dnnl_cpu_isa_avx2_vnni: return "AVX2-VNNI";
    case dnnl_cpu_isa_avx512_core: return "AVX-512";
    case dnnl_cpu_isa_avx512_core_vnni: return "AVX-512 VNNI";
    case dnnl_cpu_isa_avx512_core_bf16: return "AVX-512 BF16";
    case dnnl_cpu_isa_avx512_core_amx: return "AVX-512 AMX";
    default: return NULL;
    }
}

char *
pf_ops_fast_describe (void)
{
  const dnnl_version_t *v = dnnl_version ();
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa ();
  const char *name = isa_name (isa);
  char *isa_text = name ? g_strdup (name) : g_strdup_printf ("ISA 0x%x", (unsigned) isa);
  const char *blas = openblas_get_config ();
  char *s = g_strdup_printf ("%d threads; oneDNN %d.%d.%d (%s); %s", pf_ops_fast_threads (),
                             v->major, v->minor, v->patch, isa_text, blas ? blas : "OpenBLAS");
  g_free (isa_text);
  return s;
}
