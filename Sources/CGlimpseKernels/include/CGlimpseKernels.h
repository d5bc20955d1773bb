// Hot inner loops of Glimpse's transformer kernels, in C so that the compiler vectorises them
// (with function multiversioning for AVX-512 and AVX2 on x86-64). Swift code splits work across cores
// and calls these on disjoint slices.
#ifndef CGLIMPSE_KERNELS_H
#define CGLIMPSE_KERNELS_H
#include <stdint.h>

enum glimpse_activation_kind { GLIMPSE_GELU = 0, GLIMPSE_QUICK_GELU = 1, GLIMPSE_GELU_TANH = 2, GLIMPSE_RELU = 3 };

/// Applies an activation in place to n values.
void glimpse_activation(float *x, long n, int kind);

/// LayerNorm of `rows` rows of C values: out = (x - mean) / sqrt(var + eps) * w + b. out may alias x.
void glimpse_layernorm(float *out, const float *x, const float *w, const float *b, long rows, long C, float eps);

/// Attention for one (batch, head): q, k, v are (T, D) with row stride `stride` floats, out is (T, D) with
/// row stride `out_stride`. scores has room for T floats. With causal, row t sees keys 0...t.
void glimpse_attention_head(float *out, long out_stride, const float *q, const float *k, const float *v, long stride,
                            long T, long D, float scale, int causal, float *scores);

/// Float32 to bfloat16, round to nearest even.
void glimpse_f32_to_bf16(uint16_t *out, const float *x, long n);

#endif

#ifndef CGLIMPSE_MATMUL_H
#define CGLIMPSE_MATMUL_H
/// A linear layer out (M, N) = inp (M, K) · weightᵀ + bias computed by oneDNN, with weights stored once in
/// oneDNN's preferred blocked layout, in bfloat16 (use_bf16) or float32. Primitives are cached per M.
/// Thread-safe: one matmul may run from several threads at once.
typedef struct glimpse_matmul glimpse_matmul;

/// weight is (N, K) row-major float32, bias is (N) or NULL; hint_m is the row count to optimise the layout for.
/// Returns NULL if oneDNN cannot create the primitive (e.g. no bf16 support on this CPU).
glimpse_matmul *glimpse_matmul_create(const float *weight, const float *bias, long N, long K, long hint_m, int use_bf16);
/// Returns 0 on success.
int glimpse_matmul_run(glimpse_matmul *m, float *out, const float *inp, long M);
void glimpse_matmul_destroy(glimpse_matmul *m);
#endif
