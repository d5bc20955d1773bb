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

/// Attention for one (batch, head): q, k, v are (T, D) with row stride `stride` floats; the first `queries` rows
/// of out (row stride `out_stride`) are computed. scores has room for T floats. With causal, row t sees keys 0...t.
void glimpse_attention_head(float *out, long out_stride, const float *q, const float *k, const float *v, long stride,
                            long T, long queries, long D, float scale, int causal, float *scores);

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

/// 1 when the CPU has AVX2 and FMA (oneDNN then runs its AVX2 or AVX-512 kernels).
int glimpse_cpu_has_avx2_fma(void);
#endif

#ifndef CGLIMPSE_DISTANCE_H
#define CGLIMPSE_DISTANCE_H
#include <stdint.h>
/// Inner product of two float32 vectors of n values (AVX2 + FMA or AVX-512 where the CPU has them).
float glimpse_dot(const float *a, const float *b, long n);
/// out[i] = dot(q, row ids[i]) for i < count, where row j starts at (const char *)base + j * stride; prefetches
/// the next row while computing the current one (the rows of a graph search are scattered in memory).
void glimpse_dot_gather(float *out, const float *q, const void *base, long stride, const uint32_t *ids, long count,
                        long n);
/// out[i] = dot(q, rows + i * n) for i < count (contiguous rows).
void glimpse_dot_rows(float *out, const float *q, const float *rows, long count, long n);
/// A 64-bit checksum of `bytes` bytes (xxHash64-style, not cryptographic): detects corrupted index files.
uint64_t glimpse_checksum64(const void *data, long bytes, uint64_t seed);
/// Linux mremap(MREMAP_MAYMOVE): grows an anonymous mapping without copying; MAP_FAILED elsewhere.
void *glimpse_mremap(void *old_address, long old_size, long new_size);
/// Asks the CPU to bring the cache lines of `bytes` bytes at p into cache.
static inline void glimpse_prefetch(const void *p, long bytes) {
    for (long i = 0; i < bytes; i += 64) __builtin_prefetch((const char *)p + i, 0, 3);
}
#endif

#ifndef CGLIMPSE_SMALL_LINEAR_H
#define CGLIMPSE_SMALL_LINEAR_H
/// Linear layer for a few rows (a text query): out (M, N) = x (M, K) · wᵀ + bias, for output columns
/// [n0, n1) only (callers split columns across cores). Each weight row is read from memory once, which is what
/// bounds this case; w is (N, K) float32, or bfloat16 bits in the _bf16 variant (half the bytes to read).
void glimpse_linear_rows_f32(float *out, const float *x, const float *w, const float *bias, long M, long K, long N, long n0, long n1);
void glimpse_linear_rows_bf16(float *out, const float *x, const uint16_t *w, const float *bias, long M, long K, long N, long n0, long n1);
#endif
