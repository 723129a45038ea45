/* pf-init.h — parameter initialisation with PyTorch's default distributions.
 *
 *  - Conv1d/2d/3d and Linear weights: kaiming_uniform_(a = sqrt(5)), i.e. U(-b, b) with
 *    b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) = sqrt(1/3): b = 1 / sqrt(fan_in);
 *  - their biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in;
 *  - BatchNorm: weight 1, bias 0 (running mean 0, running variance 1);
 *  - LSTM: every weight and bias U(-1/sqrt(hidden), 1/sqrt(hidden)).
 * Draws are a pure function of (seed, parameter index, element): element i of parameter k
 * comes from the Philox block (PF_RNG_STREAM_INIT, counter (k, i / 4)), word i % 4. The same
 * seed gives the same weights whatever the thread count, and a model's parameters do not
 * shift when another parameter changes size. The values follow torch's distributions, not
 * its random stream. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fan_in as torch.nn.init._calculate_fan_in_and_fan_out: shape[1] * prod(shape[2:]) for a
 * weight [out, in, k...]; -1 when ndim < 2 (torch refuses those too) or a dim is negative. */
int64_t pf_init_fan_in (int ndim, const int *shape);

/* 1 / sqrt(fan_in); 0 when fan_in <= 0 (torch's bias rule). */
float pf_init_default_bound (int64_t fan_in);

/* out[i] = U(-bound, bound) for i < n, from (seed, param_index, i). */
void pf_init_uniform (uint64_t seed, uint32_t param_index, float bound, size_t n, float *out);

void pf_init_fill (size_t n, float value, float *out);

/* A convolution or linear layer: weight [shape[0], shape[1], k...] with ndim dims, bias
 * [shape[0]] (may be NULL). weight_index and bias_index are the parameters' indices in the
 * model (their RNG counters). Returns the fan_in used, -1 for an invalid shape (nothing written). */
int64_t pf_init_conv_linear (uint64_t seed, uint32_t weight_index, uint32_t bias_index,
                             int ndim, const int *shape, float *weight, float *bias);

/* BatchNorm over c channels; any pointer may be NULL. */
void pf_init_batchnorm (int c, float *weight, float *bias, float *running_mean, float *running_var);

/* One LSTM parameter (weight_ih, weight_hh, bias_ih or bias_hh of a layer) of n elements. */
void pf_init_lstm (uint64_t seed, uint32_t param_index, int hidden, size_t n, float *out);

#ifdef __cplusplus
}
#endif
