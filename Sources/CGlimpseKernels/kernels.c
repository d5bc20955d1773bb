#include "CGlimpseKernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__) && defined(__ELF__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

// Cephes single-precision exp: range reduction by ln 2, degree-6 polynomial, ~1 ulp.
static inline float fast_exp(float x) {
    x = x < -87.33654f ? -87.33654f : (x > 88.37626f ? 88.37626f : x);
    float fx = __builtin_rintf(x * 1.44269504088896341f);
    x = x - fx * 0.693359375f + fx * 2.12194440e-4f;
    float z = x * x;
    float y = 1.9875691500E-4f;
    y = y * x + 1.3981999507E-3f;
    y = y * x + 8.3334519073E-3f;
    y = y * x + 4.1665795894E-2f;
    y = y * x + 1.6666665459E-1f;
    y = y * x + 5.0000001201E-1f;
    y = y * z + x + 1.0f;
    int32_t e = ((int32_t)fx + 127) << 23;
    float scale;
    memcpy(&scale, &e, 4);
    return y * scale;
}

// Abramowitz & Stegun 7.1.26, |error| < 1.5e-7 (PyTorch's vectorised erf uses the same formula).
static inline float fast_erf(float x) {
    float a = fabsf(x);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    float y = 1.0f - p * t * fast_exp(-a * a);
    return copysignf(y, x);
}

MULTIVERSION
void glimpse_activation(float *x, long n, int kind) {
    switch (kind) {
    case GLIMPSE_GELU:
        for (long i = 0; i < n; i++) { float v = x[i]; x[i] = 0.5f * v * (1.0f + fast_erf(v * 0.70710678118654752f)); }
        break;
    case GLIMPSE_QUICK_GELU:
        for (long i = 0; i < n; i++) { float v = x[i]; x[i] = v / (1.0f + fast_exp(-1.702f * v)); }
        break;
    case GLIMPSE_GELU_TANH:
        for (long i = 0; i < n; i++) {
            float v = x[i];
            float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
            x[i] = 0.5f * v * (2.0f - 2.0f / (fast_exp(2.0f * u) + 1.0f));
        }
        break;
    default:
        for (long i = 0; i < n; i++) x[i] = x[i] < 0 ? 0 : x[i];
    }
}

MULTIVERSION
void glimpse_layernorm(float *out, const float *x, const float *w, const float *b, long rows, long C, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *in = x + r * C;
        float *o = out + r * C;
        float sum = 0;
        #pragma clang loop vectorize(enable) interleave(enable)
        for (long i = 0; i < C; i++) sum += in[i];
        float mean = sum / (float)C;
        float sq = 0;
        #pragma clang loop vectorize(enable) interleave(enable)
        for (long i = 0; i < C; i++) { float d = in[i] - mean; sq += d * d; }
        float rstd = 1.0f / sqrtf(sq / (float)C + eps);
        for (long i = 0; i < C; i++) o[i] = (in[i] - mean) * rstd * w[i] + b[i];
    }
}

/// o (D) = softmax(scores[0..keys)) · v, given the largest score; scores is overwritten.
static inline void softmax_mix(float *o, float *scores, float max_score, long keys, const float *v, long stride, long D) {
    float sum = 0;
    for (long j = 0; j < keys; j++) { float e = fast_exp(scores[j] - max_score); scores[j] = e; sum += e; }
    float norm = 1.0f / sum;
    for (long d = 0; d < D; d++) o[d] = 0;
    for (long j = 0; j < keys; j++) {
        const float *vj = v + j * stride;
        float p = scores[j] * norm;
        for (long d = 0; d < D; d++) o[d] += p * vj[d];
    }
}

/// Many queries against the same keys: the keys are transposed once to (D, T), so each query's scores are D
/// vector multiply-adds across keys instead of one horizontal sum per key.
MULTIVERSION
static void attention_head_transposed(float *out, long out_stride, const float *q, const float *k, const float *v, long stride,
                                      long T, long queries, long D, float scale, int causal, float *scores, float *kt) {
    long Tp = (T + 31) / 32 * 32;   // rows padded with zeros to whole blocks of 32 keys
    for (long d = 0; d < D; d++)
        for (long j = T; j < Tp; j++) kt[d * Tp + j] = 0;
    for (long j = 0; j < T; j++)
        for (long d = 0; d < D; d++) kt[d * Tp + j] = k[j * stride + d];
    for (long t = 0; t < queries; t++) {
        const float *qt = q + t * stride;
        long keys = causal ? t + 1 : T;
        for (long j0 = 0; j0 < keys; j0 += 32) {
            float acc[32] = {0};   // 32 keys' scores stay in registers across the whole head dimension
            for (long d = 0; d < D; d++) {
                float qd = qt[d];
                const float *row = kt + d * Tp + j0;
                for (int j = 0; j < 32; j++) acc[j] += qd * row[j];
            }
            long n = keys - j0 < 32 ? keys - j0 : 32;
            for (long j = 0; j < n; j++) scores[j0 + j] = acc[j];
        }
        float max_score = -INFINITY;
        for (long j = 0; j < keys; j++) { scores[j] *= scale; max_score = scores[j] > max_score ? scores[j] : max_score; }
        softmax_mix(out + t * out_stride, scores, max_score, keys, v, stride, D);
    }
}

MULTIVERSION
void glimpse_attention_head(float *out, long out_stride, const float *q, const float *k, const float *v, long stride,
                            long T, long queries, long D, float scale, int causal, float *scores) {
    if (queries >= 8) {
        float *kt = malloc(sizeof(float) * (size_t)((T + 31) / 32 * 32 * D));
        if (kt) {
            attention_head_transposed(out, out_stride, q, k, v, stride, T, queries, D, scale, causal, scores, kt);
            free(kt);
            return;
        }
    }
    for (long t = 0; t < queries; t++) {
        const float *qt = q + t * stride;
        long keys = causal ? t + 1 : T;
        float max_score = -INFINITY;
        for (long j = 0; j < keys; j++) {
            const float *kj = k + j * stride;
            float dot = 0;
            #pragma clang loop vectorize(enable) interleave(enable)
            for (long d = 0; d < D; d++) dot += qt[d] * kj[d];
            dot *= scale;
            scores[j] = dot;
            max_score = dot > max_score ? dot : max_score;
        }
        softmax_mix(out + t * out_stride, scores, max_score, keys, v, stride, D);
    }
}

MULTIVERSION
void glimpse_softmax_rows(float *x, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        float *row = x + r * cols;
        float max_score = -INFINITY;
        for (long j = 0; j < cols; j++) max_score = row[j] > max_score ? row[j] : max_score;
        for (long j = 0; j < cols; j++) row[j] = fast_exp(row[j] - max_score);
        float sum = 0;
        {
            #pragma clang fp reassociate(on)
            for (long j = 0; j < cols; j++) sum += row[j];
        }
        float norm = 1.0f / sum;
        for (long j = 0; j < cols; j++) row[j] *= norm;
    }
}

MULTIVERSION
void glimpse_f32_to_bf16(uint16_t *out, const float *x, long n) {
    for (long i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
        out[i] = (uint16_t)((bits + rounding) >> 16);
    }
}
