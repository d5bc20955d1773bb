#include "CGlimpseKernels.h"
#include <string.h>

// The 8-wide kernels are compiled for AVX2 + FMA and chosen at run time; other CPUs take the portable loop.
#if defined(__x86_64__) && defined(__clang__)
#define AVX2 __attribute__((target("avx2,fma")))
#define HAVE_AVX2_PATH 1
#else
#define AVX2
#define HAVE_AVX2_PATH 0
#endif

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef uint16_t v8u16 __attribute__((vector_size(16), aligned(2)));
typedef uint32_t v8u32 __attribute__((vector_size(32)));

AVX2 static inline float hsum(v8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }
AVX2 static inline v8 load_f32(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
AVX2 static inline v8 load_bf16(const uint16_t *p) {
    v8u16 h; memcpy(&h, p, sizeof h);
    v8u32 wide = __builtin_convertvector(h, v8u32) << 16;
    v8 f; memcpy(&f, &wide, sizeof f);
    return f;
}
static inline float bf16_to_f32(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }

// Four weight rows at a time against every input row: each weight vector is loaded once per input row from L1,
// and from memory once in all.
#define LINEAR_ROWS_VECTOR(LOAD, SCALAR)                                                            \
    long n = n0;                                                                                    \
    long K8 = K & ~7L;                                                                              \
    for (; n + 4 <= n1; n += 4) {                                                                   \
        for (long m = 0; m < M; m++) {                                                              \
            const float *xr = x + m * K;                                                            \
            v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                              \
            for (long k = 0; k < K8; k += 8) {                                                      \
                v8 xv = load_f32(xr + k);                                                           \
                a0 += xv * LOAD(w + (n + 0) * K + k);                                               \
                a1 += xv * LOAD(w + (n + 1) * K + k);                                               \
                a2 += xv * LOAD(w + (n + 2) * K + k);                                               \
                a3 += xv * LOAD(w + (n + 3) * K + k);                                               \
            }                                                                                       \
            float s[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};                                  \
            for (long k = K8; k < K; k++)                                                           \
                for (int j = 0; j < 4; j++) s[j] += xr[k] * SCALAR(w[(n + j) * K + k]);             \
            for (int j = 0; j < 4; j++) out[m * N + n + j] = s[j] + (bias ? bias[n + j] : 0.0f);     \
        }                                                                                           \
    }                                                                                               \
    LINEAR_ROWS_SCALAR(SCALAR, n)

#define LINEAR_ROWS_SCALAR(SCALAR, START)                                                           \
    for (long c = START; c < n1; c++) {                                                             \
        for (long m = 0; m < M; m++) {                                                              \
            float s = 0;                                                                            \
            for (long k = 0; k < K; k++) s += x[m * K + k] * SCALAR(w[c * K + k]);                  \
            out[m * N + c] = s + (bias ? bias[c] : 0.0f);                                           \
        }                                                                                           \
    }

#define IDENTITY(v) (v)

AVX2 static void rows_f32_avx2(float *out, const float *x, const float *w, const float *bias, long M, long K, long N, long n0, long n1) {
    LINEAR_ROWS_VECTOR(load_f32, IDENTITY)
}

AVX2 static void rows_bf16_avx2(float *out, const float *x, const uint16_t *w, const float *bias, long M, long K, long N, long n0, long n1) {
    LINEAR_ROWS_VECTOR(load_bf16, bf16_to_f32)
}

static int has_avx2(void) {
#if HAVE_AVX2_PATH
    static int cached = -1;
    if (cached < 0) { __builtin_cpu_init(); cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
    return cached;
#else
    return 0;
#endif
}

void glimpse_linear_rows_f32(float *out, const float *x, const float *w, const float *bias, long M, long K, long N, long n0, long n1) {
    if (has_avx2()) { rows_f32_avx2(out, x, w, bias, M, K, N, n0, n1); return; }
    LINEAR_ROWS_SCALAR(IDENTITY, n0)
}

void glimpse_linear_rows_bf16(float *out, const float *x, const uint16_t *w, const float *bias, long M, long K, long N, long n0, long n1) {
    if (has_avx2()) { rows_bf16_avx2(out, x, w, bias, M, K, N, n0, n1); return; }
    LINEAR_ROWS_SCALAR(bf16_to_f32, n0)
}
