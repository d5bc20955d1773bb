#include "CGlimpseKernels.h"
#include <string.h>

// The 8-wide kernels are compiled for AVX2 + FMA and chosen at run time; other CPUs take the portable loop.
#if defined(__x86_64__) && defined(__clang__)
#define AVX2 __attribute__((target("avx2,fma")))
#define F16C __attribute__((target("avx2,fma,f16c")))
#define HAVE_AVX2_PATH 1
#else
#define AVX2
#define F16C
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
typedef _Float16 v8f16 __attribute__((vector_size(16), aligned(2)));
F16C static inline v8 load_f16(const uint16_t *p) { v8f16 h; memcpy(&h, p, sizeof h); return __builtin_convertvector(h, v8); }

/// IEEE binary16 bits to Float32, exactly, without any instruction set extension.
static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff, u;
    if (exponent == 0x1f) u = sign | 0x7f800000u | (mantissa << 13);            // inf / NaN
    else if (exponent != 0) u = sign | ((exponent + 112) << 23) | (mantissa << 13); // normal
    else if (mantissa == 0) u = sign;                                          // ±0
    else {                                                                     // subnormal: normalise
        int e = -1;
        do { mantissa <<= 1; e++; } while (!(mantissa & 0x400));
        u = sign | ((uint32_t)(112 - e) << 23) | ((mantissa & 0x3ff) << 13);
    }
    float f; memcpy(&f, &u, 4); return f;
}

// Four weight rows × two input rows per tile: eight independent accumulators hide the FMA latency, and each
// weight vector loaded feeds two products. The four weight rows stay in L1/L2 while every input row passes, so
// weights come from memory once in all (a text query is bound by reading them).
#define LINEAR_ROWS_VECTOR(VEC, WIDTH, LOADX, HSUM, LOAD, SCALAR)                                                            \
    long n = n0;                                                                                    \
    long K8 = K - K % WIDTH;                                                                                \
    for (; n + 4 <= n1; n += 4) {                                                                   \
        const __typeof__(*w) *w0 = w + n * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;                   \
        /* the next tile's rows (contiguous) are prefetched into L2 while this one computes, so      \
           memory streams weights all the time instead of only during each tile's first pass */      \
        const char *next = (const char *)(w0 + 4 * K);                                              \
        long next_bytes = n + 8 <= n1 ? (long)(4 * K * sizeof(*w)) : 0, fetched = 0;          \
        long m = 0;                                                                                 \
        for (; m + 2 <= M; m += 2) {                                                                \
            const float *xa = x + m * K, *xb = xa + K;                                              \
            VEC a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};      \
            for (long k = 0; k < K8; k += WIDTH) {                                                      \
                VEC xv = LOADX(xa + k), yv = LOADX(xb + k), wv;                                  \
                if (fetched < next_bytes) { PREFETCH_L2(next + fetched); fetched += 64; }          \
                wv = LOAD(w0 + k); a0 += xv * wv; b0 += yv * wv;                                    \
                wv = LOAD(w1 + k); a1 += xv * wv; b1 += yv * wv;                                    \
                wv = LOAD(w2 + k); a2 += xv * wv; b2 += yv * wv;                                    \
                wv = LOAD(w3 + k); a3 += xv * wv; b3 += yv * wv;                                    \
            }                                                                                       \
            float s[2][4] = {{HSUM(a0), HSUM(a1), HSUM(a2), HSUM(a3)}, {HSUM(b0), HSUM(b1), HSUM(b2), HSUM(b3)}}; \
            for (int i = 0; i < 2; i++) {                                                           \
                const float *xr = xa + i * K;                                                       \
                for (long k = K8; k < K; k++)                                                       \
                    for (int j = 0; j < 4; j++) s[i][j] += xr[k] * SCALAR(w[(n + j) * K + k]);      \
                for (int j = 0; j < 4; j++) out[(m + i) * N + n + j] = s[i][j] + (bias ? bias[n + j] : 0.0f); \
            }                                                                                       \
        }                                                                                           \
        for (; m < M; m++) {                                                                        \
            const float *xr = x + m * K;                                                            \
            VEC a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                              \
            for (long k = 0; k < K8; k += WIDTH) {                                                      \
                VEC xv = LOADX(xr + k);                                                               \
                if (fetched < next_bytes) { PREFETCH_L2(next + fetched); fetched += 64; }          \
                a0 += xv * LOAD(w0 + k);                                                            \
                a1 += xv * LOAD(w1 + k);                                                            \
                a2 += xv * LOAD(w2 + k);                                                            \
                a3 += xv * LOAD(w3 + k);                                                            \
            }                                                                                       \
            float s[4] = {HSUM(a0), HSUM(a1), HSUM(a2), HSUM(a3)};                                  \
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

/// Defines one few-rows kernel: NAME(out, x, w, bias, M, K, N, n0, n1) with weights of type WEIGHT.
#define ROWS_KERNEL(ATTR, NAME, WEIGHT, VEC, WIDTH, LOADX, HSUM, LOAD, SCALAR)                                      \
    ATTR static void NAME(float *out, const float *x, const WEIGHT *w, const float *bias, long M, long K, long N,     \
                          long n0, long n1) {                                                                       \
        LINEAR_ROWS_VECTOR(VEC, WIDTH, LOADX, HSUM, LOAD, SCALAR)                                                   \
    }

#define IDENTITY(v) (v)
#define PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)

ROWS_KERNEL(AVX2, rows_f32_avx2, float, v8, 8, load_f32, hsum, load_f32, IDENTITY)
ROWS_KERNEL(AVX2, rows_bf16_avx2, uint16_t, v8, 8, load_f32, hsum, load_bf16, bf16_to_f32)
ROWS_KERNEL(F16C, rows_f16_avx2, uint16_t, v8, 8, load_f32, hsum, load_f16, f16_to_f32)

// 16-wide versions for AVX-512 CPUs: a few-rows product is bound by arithmetic as much as by memory there.
#if HAVE_AVX2_PATH
#define AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef _Float16 v16f16 __attribute__((vector_size(32), aligned(2)));
AVX512 static inline v16 load16_f32(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }
AVX512 static inline v16 load16_f16(const uint16_t *p) { v16f16 h; memcpy(&h, p, sizeof h); return __builtin_convertvector(h, v16); }
AVX512 static inline float hsum16(v16 v) {
    v8 lo, hi; memcpy(&lo, &v, 32); memcpy(&hi, (const char *)&v + 32, 32);
    v8 s = lo + hi;
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}
ROWS_KERNEL(AVX512, rows_f32_avx512, float, v16, 16, load16_f32, hsum16, load16_f32, IDENTITY)
ROWS_KERNEL(AVX512, rows_f16_avx512, uint16_t, v16, 16, load16_f32, hsum16, load16_f16, f16_to_f32)

#endif

/// The widest few-rows kernels this CPU runs, found once.
enum { LEVEL_PORTABLE, LEVEL_AVX2, LEVEL_AVX2_F16C, LEVEL_AVX512 };
static int vector_level(void) {
#if HAVE_AVX2_PATH
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"), f16c = __builtin_cpu_supports("f16c");
        cached = avx2 && f16c && __builtin_cpu_supports("avx512f") ? LEVEL_AVX512
               : avx2 && f16c ? LEVEL_AVX2_F16C : avx2 ? LEVEL_AVX2 : LEVEL_PORTABLE;
    }
    return cached;
#else
    return LEVEL_PORTABLE;
#endif
}

void glimpse_linear_rows_f32(float *out, const float *x, const float *w, const float *bias, long M, long K, long N, long n0, long n1) {
#if HAVE_AVX2_PATH
    if (vector_level() >= LEVEL_AVX512) { rows_f32_avx512(out, x, w, bias, M, K, N, n0, n1); return; }
#endif
    if (vector_level() >= LEVEL_AVX2) { rows_f32_avx2(out, x, w, bias, M, K, N, n0, n1); return; }
    LINEAR_ROWS_SCALAR(IDENTITY, n0)
}

void glimpse_linear_rows_bf16(float *out, const float *x, const uint16_t *w, const float *bias, long M, long K, long N, long n0, long n1) {
    if (vector_level() >= LEVEL_AVX2) { rows_bf16_avx2(out, x, w, bias, M, K, N, n0, n1); return; }
    LINEAR_ROWS_SCALAR(bf16_to_f32, n0)
}

void glimpse_linear_rows_f16(float *out, const float *x, const uint16_t *w, const float *bias, long M, long K, long N, long n0, long n1) {
#if HAVE_AVX2_PATH
    if (vector_level() >= LEVEL_AVX512) { rows_f16_avx512(out, x, w, bias, M, K, N, n0, n1); return; }
    if (vector_level() >= LEVEL_AVX2_F16C) { rows_f16_avx2(out, x, w, bias, M, K, N, n0, n1); return; }
#endif
    LINEAR_ROWS_SCALAR(f16_to_f32, n0)
}

/// Float32 to IEEE binary16 bits, rounding to nearest even; beyond ±65504 → ±inf, tiny values → subnormals / 0.
static uint16_t f32_to_f16(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000, abs = u & 0x7fffffffu;
    if (abs >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0));  // inf / NaN
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);        // rounds past 65504: inf
    if (abs < 0x38800000u) {                                          // below 2^-14: subnormal half
        if (abs < 0x33000000u) return (uint16_t)sign;                 // below half the smallest subnormal
        uint32_t exponent = abs >> 23, mantissa = (abs & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - exponent;                               // 14..24
        uint32_t half = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((abs >> 13) - (112u << 10));                        // rebias exponent, keep 10 mantissa bits
    uint32_t rest = abs & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;            // carries into the exponent correctly
    return (uint16_t)(sign | h);
}

void glimpse_f32_to_f16(uint16_t *out, const float *x, long n) {
    for (long i = 0; i < n; i++) out[i] = f32_to_f16(x[i]);
}
