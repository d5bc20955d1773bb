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

/// Row-wise softmax in place: each of `rows` rows of `cols` scores (row stride `cols`) becomes exp(x - max) / sum.
void glimpse_softmax_rows(float *x, long rows, long cols);

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

/// Row-major C = alpha·op(A)·op(B) + beta·C on the calling thread (oneDNN's sgemm); 0, or -1 when refused.
int glimpse_sgemm(char transa, char transb, long M, long N, long K, float alpha, const float *A, long lda,
                  const float *B, long ldb, float beta, float *C, long ldc);
void glimpse_matmul_destroy(glimpse_matmul *m);

/// 1 when the CPU has AVX2 and FMA (oneDNN then runs its AVX2 or AVX-512 kernels).
int glimpse_cpu_has_avx2_fma(void);
/// 1 when the CPU multiplies bfloat16 natively (AVX-512 BF16 or AMX-BF16): only then is bf16 faster than fp32.
int glimpse_cpu_has_bf16(void);
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
/// The same with IEEE binary16 weights (F16C conversion in the kernel where the CPU has it).
void glimpse_linear_rows_f16(float *out, const float *x, const uint16_t *w, const float *bias, long M, long K, long N, long n0, long n1);
void glimpse_f32_to_f16(uint16_t *out, const float *x, long n);
#endif

#ifndef CGLIMPSE_Q8_H
#define CGLIMPSE_Q8_H
#include <stdint.h>
/// Int8 linear layers (int8_linear.c): weights packed once, per output channel; activations quantized per row.
typedef struct glimpse_q8_weights glimpse_q8_weights;

/// The int8 kernels, best last. Each computes the same int32 sums.
enum glimpse_q8_level {
    GLIMPSE_Q8_PORTABLE = 0, GLIMPSE_Q8_NEON_DOT = 1, GLIMPSE_Q8_AVX2 = 2, GLIMPSE_Q8_AVX_VNNI = 3, GLIMPSE_Q8_AVX512_VNNI = 4
};
/// The kernel in use: the best this CPU runs, unless glimpse_q8_use_kernel chose another.
int glimpse_q8_kernel(void);
/// 1 when this CPU runs kernel `level`.
int glimpse_q8_supported(int level);
/// Uses kernel `level` from now on (-1: the best again); 0 when this CPU cannot run it.
int glimpse_q8_use_kernel(int level);
/// 1 when kernel `level` reads activations as unsigned bytes (q + 128).
int glimpse_q8_unsigned_activations(int level);

/// Quantizes weight (N, K) per output row: scale = max|w| / 127. bias is (N) or NULL (copied). NULL when out of memory.
glimpse_q8_weights *glimpse_q8_pack(const float *weight, const float *bias, long N, long K);
void glimpse_q8_free(glimpse_q8_weights *w);
/// K rounded up to a multiple of 4: the row stride of quantized activations.
long glimpse_q8_padded_inputs(const glimpse_q8_weights *w);
/// Panels of 16 output columns: the unit callers split across cores.
long glimpse_q8_panels(const glimpse_q8_weights *w);
/// Quantizes `rows` rows of x (row stride K) into q (row stride Kp, padding holds the zero point), asymmetrically:
/// q = round(x / s) + z in [0, 255], s = (max − min) / 255 over a range that includes 0. Stored as q when
/// `unsigned_` (VNNI), else as the signed byte q − 128; corrections[r] is z, or z − 128 for the signed form.
/// With `keep` (K values of 1 or 0), channels where it is 0 are quantized as exactly 0 and left out of the range.
void glimpse_q8_quantize_rows(uint8_t *q, float *scales, int32_t *corrections, const float *x, long rows, long K, long Kp,
                              int unsigned_, const float *keep);
/// out[m, n] = (Σ_k a[m, k] · w[n, k] − corrections[m] · Σ_k w[n, k]) · scales[m] · scale[n] + bias[n], then
/// `activation` (a glimpse_activation_kind, or -1 for none), for rows [m0, m1) and the columns of panels [p0, p1);
/// out has row stride N. `a` must have been quantized for `level`'s activation format.
void glimpse_q8_linear(float *out, const uint8_t *a, const float *scales, const int32_t *corrections,
                       const glimpse_q8_weights *w, int level, long m0, long m1, long p0, long p1, int activation);
#endif

#ifndef CGLIMPSE_WORKER_POOL_H
#define CGLIMPSE_WORKER_POOL_H
/// Runs body(context, i) for i in [0, count) on the calling thread and one worker per other core, which spin
/// briefly between jobs (GLIMPSE_POOL_SPIN_US, default 200) so that a model's many small layers do not each pay a
/// thread wake-up. Returns 0 without running anything when the pool is busy with another caller's job (or this
/// is a nested call): the caller then runs the work itself.
int glimpse_pool_run(long count, void (*body)(void *context, long index), void *context);
#endif
