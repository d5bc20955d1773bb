// Int8 linear layers: weights quantized once per output channel (symmetric, [-127, 127]), activations per row on
// the fly, int32 accumulation, dequantization fused with the bias and the following activation.
//
// Packed weight layout, shared by every kernel: output columns in panels of 16; a panel holds ⌈K/4⌉ groups of
// 64 bytes, group g being [column 0: k 4g…4g+3 | column 1: … | column 15: …]. One 4-byte broadcast of an
// activation row against one group is 16 columns × 4 k products: one AVX-512 VNNI vpdpbusd, two AVX-VNNI ones,
// or two AVX2 vpmaddubsw + vpmaddwd pairs.
//
// Activations are quantized per row asymmetrically: q = round(x / s) + z in [0, 255] with s = (max − min) / 255 and
// the zero point z where x = 0 lands, so a skewed row (a GELU output: ≥ −0.17, large positives) keeps all 256
// levels. VNNI multiplies unsigned by signed bytes and reads q itself; AVX2, NEON and the portable kernels read
// q − 128 as a signed byte and use |a| · sign(w, a), whose pairwise int16 sums (≤ 2·128·127) never saturate.
// Either way the sums lose c·Σw afterwards, c being z (unsigned) or z − 128 (signed).
#include "CGlimpseKernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define X86 1
#define T_AVX2 __attribute__((target("avx2,fma")))
#define T_AVXVNNI __attribute__((target("avx2,fma,avxvnni")))
#define T_AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#else
#define X86 0
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#include <arm_neon.h>
#define NEON_DOT 1
#else
#define NEON_DOT 0
#endif

#define INLINE static inline __attribute__((always_inline))
#define PANEL 16
#define GROUP_BYTES 64

struct glimpse_q8_weights {
    long N, K, Kp, panels;
    int8_t *packed;     // panels × (Kp / 4) × 64 bytes
    float *scale;       // per output column (N)
    int32_t *colsum;    // Σ_k w[n, k] (N): the zero-point correction
    float *bias;        // (N) or NULL
};

// MARK: - Kernel selection

static int cpu_level(void) {
#if X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return GLIMPSE_Q8_AVX512_VNNI;
    if (__builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2")) return GLIMPSE_Q8_AVX_VNNI;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return GLIMPSE_Q8_AVX2;
    return GLIMPSE_Q8_PORTABLE;
#elif NEON_DOT
    return GLIMPSE_Q8_NEON_DOT;
#else
    return GLIMPSE_Q8_PORTABLE;
#endif
}

static int chosen_level = -1;

int glimpse_q8_supported(int level) {
    if (level == GLIMPSE_Q8_PORTABLE) return 1;
    int best = cpu_level();
#if X86
    if (level == GLIMPSE_Q8_NEON_DOT) return 0;
    if (level == GLIMPSE_Q8_AVX_VNNI && best == GLIMPSE_Q8_AVX512_VNNI) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avxvnni");
    }
    return level <= best;
#else
    return level == best;
#endif
}

int glimpse_q8_kernel(void) {
    int level = __atomic_load_n(&chosen_level, __ATOMIC_RELAXED);
    if (level < 0) {
        level = cpu_level();
        __atomic_store_n(&chosen_level, level, __ATOMIC_RELAXED);
    }
    return level;
}

int glimpse_q8_use_kernel(int level) {
    if (level < 0) { __atomic_store_n(&chosen_level, cpu_level(), __ATOMIC_RELAXED); return 1; }
    if (!glimpse_q8_supported(level)) return 0;
    __atomic_store_n(&chosen_level, level, __ATOMIC_RELAXED);
    return 1;
}

int glimpse_q8_unsigned_activations(int level) { return level == GLIMPSE_Q8_AVX512_VNNI || level == GLIMPSE_Q8_AVX_VNNI; }

// MARK: - Quantization

glimpse_q8_weights *glimpse_q8_pack(const float *w, const float *bias, long N, long K) {
    glimpse_q8_weights *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->N = N; q->K = K; q->Kp = (K + 3) & ~3L; q->panels = (N + PANEL - 1) / PANEL;
    long groups = q->Kp / 4;
    size_t bytes = (size_t)q->panels * groups * GROUP_BYTES;
    q->packed = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    q->scale = malloc(sizeof(float) * N);
    q->colsum = malloc(sizeof(int32_t) * N);
    if (bias) { q->bias = malloc(sizeof(float) * N); if (q->bias) memcpy(q->bias, bias, sizeof(float) * N); }
    if (!q->packed || !q->scale || !q->colsum || (bias && !q->bias)) { glimpse_q8_free(q); return NULL; }
    memset(q->packed, 0, bytes);
    for (long n = 0; n < N; n++) {
        const float *row = w + n * K;
        float max = 0;
        for (long k = 0; k < K; k++) { float a = fabsf(row[k]); max = a > max ? a : max; }
        float scale = max > 0 ? max / 127.0f : 1.0f, inverse = 1.0f / scale;
        q->scale[n] = scale;
        int8_t *panel = q->packed + (n / PANEL) * groups * GROUP_BYTES + (n % PANEL) * 4;
        int32_t sum = 0;
        for (long k = 0; k < K; k++) {
            float v = rintf(row[k] * inverse);
            int8_t b = (int8_t)(v > 127 ? 127 : (v < -127 ? -127 : v));
            panel[(k / 4) * GROUP_BYTES + k % 4] = b;
            sum += b;
        }
        q->colsum[n] = sum;
    }
    return q;
}

void glimpse_q8_free(glimpse_q8_weights *q) {
    if (!q) return;
    free(q->packed); free(q->scale); free(q->colsum); free(q->bias); free(q);
}

long glimpse_q8_padded_inputs(const glimpse_q8_weights *q) { return q->Kp; }

#if defined(__x86_64__) && defined(__clang__) && defined(__ELF__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

MULTIVERSION
void glimpse_q8_quantize_rows(uint8_t *q, float *scales, int32_t *corrections, const float *x, long rows, long K, long Kp,
                              int unsigned_, const float *keep) {
    uint8_t flip = unsigned_ ? 0 : 0x80;
    for (long r = 0; r < rows; r++) {
        const float *in = x + r * K;
        uint8_t *out = q + r * Kp;
        float lo = 0, hi = 0;   // the range always holds 0, so that x = 0 is exact
        if (keep) {   // channels with keep[k] = 0 are quantized as 0 (they are computed elsewhere)
            for (long k = 0; k < K; k++) { float v = in[k] * keep[k]; lo = v < lo ? v : lo; hi = v > hi ? v : hi; }
        } else {
            for (long k = 0; k < K; k++) { lo = in[k] < lo ? in[k] : lo; hi = in[k] > hi ? in[k] : hi; }
        }
        float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f, inverse = 1.0f / scale;
        float zero = rintf(-lo * inverse);
        zero = zero < 0 ? 0 : (zero > 255 ? 255 : zero);
        scales[r] = scale;
        corrections[r] = (int32_t)zero - (unsigned_ ? 0 : 128);
        for (long k = 0; k < K; k++) {
            float v = rintf((keep ? in[k] * keep[k] : in[k]) * inverse) + zero;
            v = v < 0 ? 0 : (v > 255 ? 255 : v);
            out[k] = (uint8_t)(int32_t)v ^ flip;
        }
        for (long k = K; k < Kp; k++) out[k] = (uint8_t)(int32_t)zero ^ flip;
    }
}

// MARK: - Kernels: a tile of MR rows × NP panels, accumulators dequantized into out

/// Dequantizes one row of 16 int32 sums: out = (sum − c·Σw) · sa · sw + bias.
INLINE void store16(float *out, const int32_t *acc, long n, long N, float sa, int32_t c, const glimpse_q8_weights *w) {
    // Unfused multiply and add, as the AVX-512 store rounds them: every kernel then writes identical floats.
#pragma clang fp contract(off)
    long count = N - n < PANEL ? N - n : PANEL;
    for (long j = 0; j < count; j++) {
        int32_t s = acc[j] - c * w->colsum[n + j];
        out[j] = (float)s * sa * w->scale[n + j] + (w->bias ? w->bias[n + j] : 0.0f);
    }
}

#if X86
T_AVX512VNNI INLINE void tile_avx512vnni(float *out, long ldo, const uint8_t *a, long lda, const float *sa,
                                           const int32_t *zc, const glimpse_q8_weights *w, long panel, int mr, int np) {
    long groups = w->Kp / 4;
    const int8_t *b0 = w->packed + panel * groups * GROUP_BYTES;
    const int8_t *b1 = b0 + groups * GROUP_BYTES;
    __m512i acc[8][2];
    for (int r = 0; r < mr; r++) for (int p = 0; p < np; p++) acc[r][p] = _mm512_setzero_si512();
    for (long g = 0; g < groups; g++) {
        __m512i w0 = _mm512_load_si512((const void *)(b0 + g * GROUP_BYTES));
        __m512i w1 = np > 1 ? _mm512_load_si512((const void *)(b1 + g * GROUP_BYTES)) : w0;
        for (int r = 0; r < mr; r++) {
            int32_t bytes; memcpy(&bytes, a + r * lda + g * 4, 4);
            __m512i av = _mm512_set1_epi32(bytes);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, w0);
            if (np > 1) acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, w1);
        }
    }
    for (int r = 0; r < mr; r++) for (int p = 0; p < np; p++) {
        long n = (panel + p) * PANEL;
        if (n >= w->N) continue;
        if (w->N - n >= PANEL) {
            __m512i correction = _mm512_mullo_epi32(_mm512_set1_epi32(zc[r]), _mm512_loadu_si512((const void *)(w->colsum + n)));
            __m512 s = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][p], correction));
            s = _mm512_mul_ps(_mm512_mul_ps(s, _mm512_set1_ps(sa[r])), _mm512_loadu_ps(w->scale + n));
            if (w->bias) s = _mm512_add_ps(s, _mm512_loadu_ps(w->bias + n));
            _mm512_storeu_ps(out + r * ldo + n, s);
        } else {
            int32_t sums[PANEL]; _mm512_storeu_si512((void *)sums, acc[r][p]);
            store16(out + r * ldo + n, sums, n, w->N, sa[r], zc[r], w);
        }
    }
}

/// Dequantizes the 256-bit kernels' accumulators: per row, two 8-column halves of one panel.
T_AVX2 INLINE void store_halves(float *out, long ldo, __m256i acc[][2], int mr, long panel, const float *sa,
                                const int32_t *zc, const glimpse_q8_weights *w) {
    long n = panel * PANEL;
    for (int r = 0; r < mr; r++) {
        int32_t sums[PANEL];
        _mm256_storeu_si256((__m256i *)sums, acc[r][0]);
        _mm256_storeu_si256((__m256i *)(sums + 8), acc[r][1]);
        store16(out + r * ldo + n, sums, n, w->N, sa[r], zc[r], w);
    }
}

/// Two 8-column halves of a panel per group, for the 256-bit kernels.
T_AVXVNNI INLINE void tile_avxvnni(float *out, long ldo, const uint8_t *a, long lda, const float *sa,
                                     const int32_t *zc, const glimpse_q8_weights *w, long panel, int mr, int np) {
    (void)np;
    long groups = w->Kp / 4;
    const int8_t *b = w->packed + panel * groups * GROUP_BYTES;
    __m256i acc[6][2];
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (long g = 0; g < groups; g++) {
        __m256i w0 = _mm256_load_si256((const __m256i *)(b + g * GROUP_BYTES));
        __m256i w1 = _mm256_load_si256((const __m256i *)(b + g * GROUP_BYTES + 32));
        for (int r = 0; r < mr; r++) {
            int32_t bytes; memcpy(&bytes, a + r * lda + g * 4, 4);
            __m256i av = _mm256_set1_epi32(bytes);
            acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], av, w0);
            acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], av, w1);
        }
    }
    store_halves(out, ldo, acc, mr, panel, sa, zc, w);
}

T_AVX2 INLINE void tile_avx2(float *out, long ldo, const uint8_t *a, long lda, const float *sa,
                               const int32_t *zc, const glimpse_q8_weights *w, long panel, int mr, int np) {
    (void)np;
    long groups = w->Kp / 4;
    const int8_t *b = w->packed + panel * groups * GROUP_BYTES;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[4][2];
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (long g = 0; g < groups; g++) {
        __m256i w0 = _mm256_load_si256((const __m256i *)(b + g * GROUP_BYTES));
        __m256i w1 = _mm256_load_si256((const __m256i *)(b + g * GROUP_BYTES + 32));
        for (int r = 0; r < mr; r++) {
            int32_t bytes; memcpy(&bytes, a + r * lda + g * 4, 4);
            __m256i av = _mm256_set1_epi32(bytes);
            __m256i magnitude = _mm256_sign_epi8(av, av);
            __m256i p0 = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(w0, av));
            __m256i p1 = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(w1, av));
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(p0, ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(p1, ones));
        }
    }
    store_halves(out, ldo, acc, mr, panel, sa, zc, w);
}
#endif

#if NEON_DOT
INLINE void tile_neon(float *out, long ldo, const uint8_t *a, long lda, const float *sa,
                      const int32_t *zc, const glimpse_q8_weights *w, long panel, int mr, int np) {
    (void)np;
    long groups = w->Kp / 4;
    const int8_t *b = w->packed + panel * groups * GROUP_BYTES;
    int32x4_t acc[4][4];
    for (int r = 0; r < mr; r++) for (int j = 0; j < 4; j++) acc[r][j] = vdupq_n_s32(0);
    for (long g = 0; g < groups; g++) {
        int8x16_t wv[4];
        for (int j = 0; j < 4; j++) wv[j] = vld1q_s8(b + g * GROUP_BYTES + 16 * j);
        for (int r = 0; r < mr; r++) {
            int32_t bytes; memcpy(&bytes, a + r * lda + g * 4, 4);
            int8x16_t av = vreinterpretq_s8_s32(vdupq_n_s32(bytes));
            for (int j = 0; j < 4; j++) acc[r][j] = vdotq_s32(acc[r][j], wv[j], av);
        }
    }
    long n = panel * PANEL;
    for (int r = 0; r < mr; r++) {
        int32_t sums[PANEL];
        for (int j = 0; j < 4; j++) vst1q_s32(sums + 4 * j, acc[r][j]);
        store16(out + r * ldo + n, sums, n, w->N, sa[r], zc[r], w);
    }
}
#endif

/// The reference kernel: any CPU, and the exact int32 sums every other kernel must reproduce.
static void tile_portable(float *out, long ldo, const uint8_t *a, long lda, const float *sa,
                          const int32_t *zc, const glimpse_q8_weights *w, long panel, int mr, int np) {
    (void)np;
    long groups = w->Kp / 4;
    const int8_t *b = w->packed + panel * groups * GROUP_BYTES;
    for (int r = 0; r < mr; r++) {
        int32_t sums[PANEL] = {0};
        const int8_t *ar = (const int8_t *)(a + r * lda);
        for (long g = 0; g < groups; g++)
            for (int j = 0; j < PANEL; j++)
                for (int i = 0; i < 4; i++) sums[j] += (int32_t)ar[g * 4 + i] * b[g * GROUP_BYTES + j * 4 + i];
        long n = panel * PANEL;
        store16(out + r * ldo + n, sums, n, w->N, sa[r], zc[r], w);
    }
}

// Rows are taken in blocks small enough that their activations stay in L2 while every panel of the range passes.
#define ROW_BLOCK 64

#define DRIVE(TILE, MR, NP, ...)                                                                              \
    for (long mb = m0; mb < m1; mb += ROW_BLOCK) {                                                            \
        long me = mb + ROW_BLOCK < m1 ? mb + ROW_BLOCK : m1;                                                  \
        for (long p = p0; p < p1; p += NP) {                                                                  \
            int np = p + NP <= p1 ? NP : (int)(p1 - p);                                                       \
            long m = mb;                                                                                      \
            for (; m + MR <= me; m += MR)                                                                     \
                TILE(out + m * N, N, a + m * Kp, Kp, scales + m, zc + m, w, p, MR, np);                               \
            switch (me - m) { __VA_ARGS__ }                                                                   \
        }                                                                                                     \
    }

#define REST(TILE, R) case R: TILE(out + m * N, N, a + m * Kp, Kp, scales + m, zc + m, w, p, R, np); break;

#if X86
T_AVX512VNNI static void drive_avx512vnni(float *out, const uint8_t *a, const float *scales, const int32_t *zc, const glimpse_q8_weights *w,
                                         long m0, long m1, long p0, long p1, long N, long Kp) {
    DRIVE(tile_avx512vnni, 8, 2, REST(tile_avx512vnni, 1) REST(tile_avx512vnni, 2) REST(tile_avx512vnni, 3)
          REST(tile_avx512vnni, 4) REST(tile_avx512vnni, 5) REST(tile_avx512vnni, 6) REST(tile_avx512vnni, 7) default: break;)
}
T_AVXVNNI static void drive_avxvnni(float *out, const uint8_t *a, const float *scales, const int32_t *zc, const glimpse_q8_weights *w,
                                   long m0, long m1, long p0, long p1, long N, long Kp) {
    DRIVE(tile_avxvnni, 6, 1, REST(tile_avxvnni, 1) REST(tile_avxvnni, 2) REST(tile_avxvnni, 3) REST(tile_avxvnni, 4)
          REST(tile_avxvnni, 5) default: break;)
}
T_AVX2 static void drive_avx2(float *out, const uint8_t *a, const float *scales, const int32_t *zc, const glimpse_q8_weights *w,
                              long m0, long m1, long p0, long p1, long N, long Kp) {
    DRIVE(tile_avx2, 4, 1, REST(tile_avx2, 1) REST(tile_avx2, 2) REST(tile_avx2, 3) default: break;)
}
#endif
#if NEON_DOT
static void drive_neon(float *out, const uint8_t *a, const float *scales, const int32_t *zc, const glimpse_q8_weights *w,
                       long m0, long m1, long p0, long p1, long N, long Kp) {
    DRIVE(tile_neon, 4, 1, REST(tile_neon, 1) REST(tile_neon, 2) REST(tile_neon, 3) default: break;)
}
#endif
static void drive_portable(float *out, const uint8_t *a, const float *scales, const int32_t *zc, const glimpse_q8_weights *w,
                           long m0, long m1, long p0, long p1, long N, long Kp) {
    DRIVE(tile_portable, 1, 1, default: break;)
}

void glimpse_q8_linear(float *out, const uint8_t *a, const float *scales, const int32_t *zc, const glimpse_q8_weights *w, int level,
                       long m0, long m1, long p0, long p1, int activation) {
    long N = w->N, Kp = w->Kp;
    switch (level) {
#if X86
    case GLIMPSE_Q8_AVX512_VNNI: drive_avx512vnni(out, a, scales, zc, w, m0, m1, p0, p1, N, Kp); break;
    case GLIMPSE_Q8_AVX_VNNI: drive_avxvnni(out, a, scales, zc, w, m0, m1, p0, p1, N, Kp); break;
    case GLIMPSE_Q8_AVX2: drive_avx2(out, a, scales, zc, w, m0, m1, p0, p1, N, Kp); break;
#endif
#if NEON_DOT
    case GLIMPSE_Q8_NEON_DOT: drive_neon(out, a, scales, zc, w, m0, m1, p0, p1, N, Kp); break;
#endif
    default: drive_portable(out, a, scales, zc, w, m0, m1, p0, p1, N, Kp); break;
    }
    if (activation >= 0) {
        long n0 = p0 * PANEL, n1 = p1 * PANEL < N ? p1 * PANEL : N;
        for (long m = m0; m < m1; m++) glimpse_activation(out + m * N + n0, n1 - n0, activation);
    }
}

long glimpse_q8_panels(const glimpse_q8_weights *w) { return w->panels; }
