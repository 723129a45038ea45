/* pf-rng.h — counter-based random numbers (Random123 Philox4x32-10).
 *
 * Every random draw in pflow is a pure function of (seed, stream, counter): the same seed gives
 * the same numbers whatever the thread count or the order in which work is scheduled, and the
 * same function runs on the GPU. Streams separate independent uses (simulator, init, dropout). */
#pragma once
#include <stdint.h>
#include <math.h>
#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

typedef enum {
  PF_RNG_STREAM_SIM = 1,
  PF_RNG_STREAM_INIT = 2,
  PF_RNG_STREAM_DROPOUT = 3,
  PF_RNG_STREAM_JETS = 4,
  PF_RNG_STREAM_SHUFFLE = 5,
} PfRngStream;

/* Four 32-bit random words for counter (c0, c1, c2) in a stream of a seed. */
static inline philox4x32_ctr_t
pf_rng_block (uint64_t seed, uint32_t stream, uint32_t c0, uint32_t c1, uint32_t c2)
{
  philox4x32_key_t key = { { (uint32_t) seed, (uint32_t) (seed >> 32) } };
  philox4x32_ctr_t ctr = { { c0, c1, c2, stream } };
  return philox4x32 (ctr, key);
}

/* Uniform in the open interval (0, 1), float precision (24 random bits). */
static inline float
pf_rng_u01 (uint32_t x)
{
  return u01fixedpt_open_open_32_float (x);
}

/* Uniform in (0, 1) with double precision from two words. */
static inline double
pf_rng_u01_double (uint32_t hi, uint32_t lo)
{
  uint64_t v = ((uint64_t) hi << 32) | lo;
  return ((double) (v >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Two independent standard normals from two words (Box-Muller). */
static inline void
pf_rng_normal2 (uint32_t a, uint32_t b, float *z0, float *z1)
{
  float u1 = pf_rng_u01 (a);
  float u2 = pf_rng_u01 (b);
  float r = sqrtf (-2.0f * logf (u1));
  float t = 6.2831853071795864769f * u2;
  *z0 = r * cosf (t);
  *z1 = r * sinf (t);
}
