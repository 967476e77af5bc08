// Batched Q4_1 × int8 matrix product for the float prefill path (owner: llm). Not llama.cpp's float order (the exact
// path keeps that): per block of 32, the integer dot product of the 4-bit weights and the 8-bit activations, then
// f = fma(isum, dw·dx, f); f = fma(mw, sx, f) over the blocks in order. Every implementation (AVX2, the scalar C
// below, the Swift twin `Q8Gemm.reference`) computes these same IEEE operations, so they agree bit for bit.
//
// Layout of the packed weights: panels of 8 rows; per panel and block of 32 columns 320 bytes: 8 "k-steps" of 32
// bytes (row r's weights q for columns 4s..4s+3 of the block as bytes 0..15, at 4r), then dw[8] and mw[8] (fp32).
// The AVX2 kernel broadcasts 4 activation bytes of one token and multiplies them with a k-step of 8 rows
// (vpmaddubsw: u8 weights × s8 activations, pairs summed in 16 bits; 8 k-steps summed in 16 bits stay below
// 8·2·15·127 = 30,480, so nothing saturates), 4 tokens at a time.
#include "ckernels.h"
#include "ck_common.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#endif

int ck_active_features(void);


// x rounded to the nearest f16 (ties to even) and back, portable: as F16C's vcvtps2ph / Swift's Float16(x).
static float q4g_round_f16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    const uint32_t sign = u & 0x80000000u, a = u & 0x7fffffffu;
    uint16_t h;
    if (a >= 0x7f800000u) h = (uint16_t)((sign >> 16) | (a > 0x7f800000u ? 0x7e00u : 0x7c00u));   // inf / nan
    else if (a >= 0x477ff000u) h = (uint16_t)((sign >> 16) | 0x7c00u);                          // rounds to inf
    else if (a < 0x38800000u) {                                                                 // f16 subnormal or 0
        const uint32_t shift = 113 - (a >> 23);
        if (shift > 11) h = (uint16_t)(sign >> 16);   // below half the smallest f16 subnormal
        else {
            const uint32_t man = (a & 0x7fffffu) | 0x800000u;
            uint32_t v = man >> (shift + 13);
            const uint32_t rem = man & ((1u << (shift + 13)) - 1), half = 1u << (shift + 12);
            if (rem > half || (rem == half && (v & 1))) v++;
            h = (uint16_t)((sign >> 16) | v);
        }
    } else {
        uint32_t v = ((a >> 13) - (112u << 10));
        const uint32_t rem = a & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (v & 1))) v++;
        h = (uint16_t)((sign >> 16) | v);
    }
    return ck_half_to_float(h);
}

size_t ck_q4g_panel_bytes(int rows, int cols) { return (size_t)((rows + 7) / 8) * (size_t)(cols / 32) * 320; }

#ifdef CK_X86
// Same bytes as the portable loop below; the scales through F16C, the nibbles with SSE2, the 8 rows' 4-byte groups
// transposed into k-steps with 32-bit unpacks.
__attribute__((target("avx2,f16c"))) static void pack_full_panels_avx2(const uint8_t *w, size_t row_bytes, int nb, int np,
                                                                          uint8_t *out) {
    const __m128i m4 = _mm_set1_epi8(0x0f);
    for (int p = 0; p < np; p++) {
        for (int b = 0; b < nb; b++) {
            uint8_t *dst = out + ((size_t)p * nb + b) * 320;
            __m128i lo[8], hi[8];
            float dw[8], mw[8];
            for (int r = 0; r < 8; r++) {
                const uint8_t *blk = w + (size_t)(p * 8 + r) * row_bytes + (size_t)b * 20;
                uint16_t d, m;
                memcpy(&d, blk, 2);
                memcpy(&m, blk + 2, 2);
                dw[r] = _cvtsh_ss(d);
                mw[r] = _cvtsh_ss(m);
                const __m128i q = _mm_loadu_si128((const __m128i *)(blk + 4));
                lo[r] = _mm_and_si128(q, m4);
                hi[r] = _mm_and_si128(_mm_srli_epi16(q, 4), m4);
            }
            // k-step s (s < 4) = dword s of lo[0..7]; s >= 4: dword s-4 of hi[0..7]. 4x4 dword transposes of rows 0-3 / 4-7.
            for (int half = 0; half < 2; half++) {
                __m128i *v = half ? hi : lo;
                for (int g = 0; g < 2; g++) {   // rows 4g..4g+3
                    __m128i a = v[4 * g], b2 = v[4 * g + 1], c = v[4 * g + 2], d = v[4 * g + 3];
                    __m128i t0 = _mm_unpacklo_epi32(a, b2), t1 = _mm_unpacklo_epi32(c, d);
                    __m128i t2 = _mm_unpackhi_epi32(a, b2), t3 = _mm_unpackhi_epi32(c, d);
                    __m128i s0 = _mm_unpacklo_epi64(t0, t1), s1 = _mm_unpackhi_epi64(t0, t1);
                    __m128i s2 = _mm_unpacklo_epi64(t2, t3), s3 = _mm_unpackhi_epi64(t2, t3);
                    uint8_t *o = dst + half * 128 + g * 16;
                    _mm_storeu_si128((__m128i *)(o + 0), s0);
                    _mm_storeu_si128((__m128i *)(o + 32), s1);
                    _mm_storeu_si128((__m128i *)(o + 64), s2);
                    _mm_storeu_si128((__m128i *)(o + 96), s3);
                }
            }
            memcpy(dst + 256, dw, 32);
            memcpy(dst + 288, mw, 32);
        }
    }
}
#endif

static void pack_portable(const void *w, size_t row_bytes, int cols, int r0, int r1, void *panels) {
    const int nb = cols / 32, rows = r1 - r0, np = (rows + 7) / 8;
    uint8_t *out = (uint8_t *)panels;
    for (int p = 0; p < np; p++) {
        for (int b = 0; b < nb; b++) {
            uint8_t *dst = out + ((size_t)p * nb + b) * 320;
            float dw[8], mw[8];
            for (int r = 0; r < 8; r++) {
                int row = p * 8 + r;
                if (row >= rows) {
                    dw[r] = 0; mw[r] = 0;
                    for (int s = 0; s < 8; s++) memset(dst + s * 32 + r * 4, 0, 4);
                    continue;
                }
                const uint8_t *blk = (const uint8_t *)w + (size_t)(r0 + row) * row_bytes + (size_t)b * 20;
                uint16_t d, m;
                memcpy(&d, blk, 2);
                memcpy(&m, blk + 2, 2);
                dw[r] = ck_half_to_float(d);
                mw[r] = ck_half_to_float(m);
                // columns 4s+e: low nibbles of qs[4s+e] (s < 4), high nibbles of qs[4(s-4)+e] (s >= 4); 4 bytes at once
                uint32_t q[4];
                memcpy(q, blk + 4, 16);
                for (int s = 0; s < 4; s++) {
                    const uint32_t lo = q[s] & 0x0f0f0f0fu, hi = (q[s] >> 4) & 0x0f0f0f0fu;
                    memcpy(dst + s * 32 + r * 4, &lo, 4);
                    memcpy(dst + (s + 4) * 32 + r * 4, &hi, 4);
                }
            }
            memcpy(dst + 256, dw, 32);
            memcpy(dst + 288, mw, 32);
        }
    }
}

void ck_q4g_pack(const void *w, size_t row_bytes, int cols, int r0, int r1, void *panels) {
#ifdef CK_X86
    if (ck_active_features() & 1) {   // full panels with SIMD, a partial last panel portably (same bytes)
        const int nb = cols / 32, full = (r1 - r0) / 8;
        pack_full_panels_avx2((const uint8_t *)w + (size_t)r0 * row_bytes, row_bytes, nb, full, (uint8_t *)panels);
        if (r0 + full * 8 < r1)
            pack_portable(w, row_bytes, cols, r0 + full * 8, r1, (uint8_t *)panels + (size_t)full * nb * 320);
        return;
    }
#endif
    pack_portable(w, row_bytes, cols, r0, r1, panels);
}

// ---- activations ----

static void quantize_scalar(const float *x, int cols, int8_t *xq, float *dx, float *sx, int f16) {
    const int nb = cols / 32;
    for (int b = 0; b < nb; b++) {
        const float *v = x + b * 32;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(v[i]));
        const float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            int q = (int)nearbyintf(v[i] * id);
            xq[b * 32 + i] = (int8_t)q;
            sum += q;
        }
        dx[b] = f16 ? q4g_round_f16(d) : d;
        sx[b] = f16 ? q4g_round_f16(d * (float)sum) : d * (float)sum;
    }
}

#ifdef CK_X86
#define Q4G_AVX2 __attribute__((target("avx2,fma,f16c")))
Q4G_AVX2 static void quantize_avx2(const float *x, int cols, int8_t *xq, float *dx, float *sx, int f16) {
    const int nb = cols / 32;
    for (int b = 0; b < nb; b++) {
        const float *v = x + b * 32;
        __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
        const float amax = ck_amax32_avx2(v0, v1, v2, v3);
        const float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        const __m256 idv = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
        const int sum = _mm_cvtsi128_si32(s4);
        // pack 32 int32 -> 32 int8 in order
        __m256i p01 = _mm256_packs_epi32(i0, i1), p23 = _mm256_packs_epi32(i2, i3);   // lanes interleaved by 128
        __m256i p = _mm256_packs_epi16(p01, p23);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(xq + b * 32), p);
        dx[b] = f16 ? _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT)) : d;
        sx[b] = f16 ? _cvtsh_ss(_cvtss_sh(d * (float)sum, _MM_FROUND_TO_NEAREST_INT)) : d * (float)sum;
    }
}
#endif

static void quantize_rows(const float *x, int n, int cols, size_t ldx, int8_t *xq, float *dx, float *sx, int f16) {
    const int nb = cols / 32;
    for (int t = 0; t < n; t++) {
#ifdef CK_X86
        if (ck_active_features() & 1) {
            quantize_avx2(x + (size_t)t * ldx, cols, xq + (size_t)t * cols, dx + (size_t)t * nb, sx + (size_t)t * nb, f16);
            continue;
        }
#endif
        quantize_scalar(x + (size_t)t * ldx, cols, xq + (size_t)t * cols, dx + (size_t)t * nb, sx + (size_t)t * nb, f16);
    }
}

void ck_q4g_quantize(const float *x, int n, int cols, size_t ldx, int8_t *xq, float *dx, float *sx) {
    quantize_rows(x, n, cols, ldx, xq, dx, sx, 1);
}

// Gradients are small (the loss is a mean; deep layers' dY can lie below f16's normal range), so the backward
// keeps dx and sx in fp32: the same quantization without the f16 rounding.
void ck_q8t_quantize(const float *x, int n, int cols, size_t ldx, int8_t *xq, float *dx, float *sx) {
    quantize_rows(x, n, cols, ldx, xq, dx, sx, 0);
}

// ---- the product ----

// Scalar twin of the panel products (Q4_1 panels and the requantized 8-bit panels share the layout): y = (or +=) P·xq.
static void gemm_scalar(const uint8_t *P, int rows, int cols, const int8_t *xq, const float *dx, const float *sx, int n,
                        float *y, size_t ldy, int accumulate) {
    const int nb = cols / 32, np = (rows + 7) / 8;
    for (int p = 0; p < np; p++)
        for (int t = 0; t < n; t++)
            for (int r = 0; r < 8 && p * 8 + r < rows; r++) {
                float f = 0;
                for (int b = 0; b < nb; b++) {
                    const uint8_t *blk = P + ((size_t)p * nb + b) * 320;
                    const int8_t *a = xq + (size_t)t * cols + b * 32;
                    int isum = 0;
                    for (int s = 0; s < 8; s++)
                        for (int e = 0; e < 4; e++) isum += (int)blk[s * 32 + r * 4 + e] * (int)a[s * 4 + e];
                    float dw, mw;
                    memcpy(&dw, blk + 256 + 4 * r, 4);
                    memcpy(&mw, blk + 288 + 4 * r, 4);
                    f = fmaf((float)isum, dw * dx[(size_t)t * nb + b], f);
                    f = fmaf(mw, sx[(size_t)t * nb + b], f);
                }
                float *dst = y + (size_t)t * ldy + p * 8 + r;
                *dst = accumulate ? *dst + f : f;
            }
}

#ifdef CK_X86
typedef int32_t q4g_i32u __attribute__((may_alias, aligned(1)));
#define Q4G_BC(p) _mm256_set1_epi32(*(const q4g_i32u *)(p))

// One panel (8 rows) × tokens [t0, t0+nt), nt in 1..4; y rows stored through `store` (8 floats each).
#define Q4G_KERNEL(NAME, NT)                                                                                            \
Q4G_AVX2 static inline void NAME(const uint8_t *panel, int nb, const int8_t *x, size_t cols, const float *dx,          \
                                 const float *sx, __m256 *out) {                                                       \
    const __m256i ones = _mm256_set1_epi16(1);                                                                         \
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;                                                        \
    const int8_t *x0 = x, *x1 = x + cols, *x2 = x + 2 * cols, *x3 = x + 3 * cols;                                      \
    for (int b = 0; b < nb; b++) {                                                                                     \
        const uint8_t *wp = panel + (size_t)b * 320;                                                                   \
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, w;                                             \
        for (int s = 0; s < 8; s++) {                                                                                  \
            w = _mm256_load_si256((const __m256i *)(wp + 32 * s));                                                     \
            a0 = _mm256_add_epi16(a0, _mm256_maddubs_epi16(w, Q4G_BC(x0 + 4 * s)));                                     \
            if (NT > 1) a1 = _mm256_add_epi16(a1, _mm256_maddubs_epi16(w, Q4G_BC(x1 + 4 * s)));                         \
            if (NT > 2) a2 = _mm256_add_epi16(a2, _mm256_maddubs_epi16(w, Q4G_BC(x2 + 4 * s)));                         \
            if (NT > 3) a3 = _mm256_add_epi16(a3, _mm256_maddubs_epi16(w, Q4G_BC(x3 + 4 * s)));                         \
        }                                                                                                              \
        const __m256 dwv = _mm256_load_ps((const float *)(wp + 256)), mwv = _mm256_load_ps((const float *)(wp + 288)); \
        f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(a0, ones)), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + b)), f0); \
        f0 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + b), f0);                                                    \
        if (NT > 1) {                                                                                                  \
            f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(a1, ones)), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + nb + b)), f1); \
            f1 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + nb + b), f1);                                           \
        }                                                                                                              \
        if (NT > 2) {                                                                                                  \
            f2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(a2, ones)), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + 2 * nb + b)), f2); \
            f2 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + 2 * nb + b), f2);                                       \
        }                                                                                                              \
        if (NT > 3) {                                                                                                  \
            f3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(a3, ones)), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + 3 * nb + b)), f3); \
            f3 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + 3 * nb + b), f3);                                       \
        }                                                                                                              \
        x0 += 32; x1 += 32; x2 += 32; x3 += 32;                                                                        \
    }                                                                                                                  \
    out[0] = f0; out[1] = f1; out[2] = f2; out[3] = f3;                                                                \
}
Q4G_KERNEL(q4g_k4, 4)
Q4G_KERNEL(q4g_k1, 1)

Q4G_AVX2 static void gemm_avx2(const uint8_t *P, int rows, int cols, const int8_t *xq, const float *dx, const float *sx,
                               int n, float *y, size_t ldy) {
    const int nb = cols / 32, np = (rows + 7) / 8;
    __m256 out[4];
    for (int p = 0; p < np; p++) {
        const uint8_t *panel = P + (size_t)p * nb * 320;
        const int full = rows - p * 8 >= 8;
        int t = 0;
        for (; t + 4 <= n; t += 4) {
            q4g_k4(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, out);
            for (int j = 0; j < 4; j++) {
                float *dst = y + (size_t)(t + j) * ldy + p * 8;
                if (full) _mm256_storeu_ps(dst, out[j]);
                else { float tmp[8]; _mm256_storeu_ps(tmp, out[j]); for (int r = 0; r < rows - p * 8; r++) dst[r] = tmp[r]; }
            }
        }
        for (; t < n; t++) {
            q4g_k1(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, out);
            float *dst = y + (size_t)t * ldy + p * 8;
            if (full) _mm256_storeu_ps(dst, out[0]);
            else { float tmp[8]; _mm256_storeu_ps(tmp, out[0]); for (int r = 0; r < rows - p * 8; r++) dst[r] = tmp[r]; }
        }
    }
}
#endif

#ifdef CK_X86
static void gemm_vnni(const uint8_t *P, int rows, int cols, const int8_t *xq, const float *dx, const float *sx, int n,
                      float *y, size_t ldy, int accumulate);
#endif

void ck_q4g_gemm(const void *panels, int rows, int cols, const int8_t *xq, const float *dx, const float *sx, int n,
                 float *y, size_t ldy) {
#ifdef CK_X86
    if (ck_active_features() & 2) { gemm_vnni((const uint8_t *)panels, rows, cols, xq, dx, sx, n, y, ldy, 0); return; }
    if (ck_active_features() & 1) { gemm_avx2((const uint8_t *)panels, rows, cols, xq, dx, sx, n, y, ldy); return; }
#endif
    gemm_scalar((const uint8_t *)panels, rows, cols, xq, dx, sx, n, y, ldy, 0);
}

// ---- residual add + RMSNorm of the float prefill paths ----

static void add_rmsnorm_scalar(float *x, const float *y, const float *w, int dim, float eps, float *out) {
    double sum = 0;
    for (int i = 0; i < dim; i++) {
        if (y) x[i] += y[i];
        sum += (double)x[i] * (double)x[i];
    }
    const float scale = 1.0f / sqrtf((float)(sum / dim) + eps);
    for (int i = 0; i < dim; i++) out[i] = (x[i] * scale) * w[i];
}

#ifdef CK_X86
Q4G_AVX2 static void add_rmsnorm_avx2(float *x, const float *y, const float *w, int dim, float eps, float *out) {
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    int i = 0;
    for (; i + 8 <= dim; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        if (y) { v = _mm256_add_ps(v, _mm256_loadu_ps(y + i)); _mm256_storeu_ps(x + i, v); }
        const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    s0 = _mm256_add_pd(s0, s1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s0), _mm256_extractf128_pd(s0, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < dim; i++) {
        if (y) x[i] += y[i];
        sum += (double)x[i] * (double)x[i];
    }
    const float scale = 1.0f / sqrtf((float)(sum / dim) + eps);
    const __m256 sv = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= dim; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv), _mm256_loadu_ps(w + i)));
    for (; i < dim; i++) out[i] = (x[i] * scale) * w[i];
}
#endif

void ck_add_rmsnorm_rows(float *x, const float *y, int n, int dim, const float *w, float eps, float *out) {
    for (int r = 0; r < n; r++) {
        float *xr = x + (size_t)r * dim;
        const float *yr = y ? y + (size_t)r * dim : NULL;
#ifdef CK_X86
        if (ck_active_features() & 1) { add_rmsnorm_avx2(xr, yr, w, dim, eps, out + (size_t)r * dim); continue; }
#endif
        add_rmsnorm_scalar(xr, yr, w, dim, eps, out + (size_t)r * dim);
    }
}

// ---- transposed products of the training backward pass: dX[n, in] = dY[n, out] · W[out, in] (owner: llm) ----
// W^T (rows = W's columns, the k dimension = W's rows) is requantized once from fp32 (the exactly dequantized base)
// into the q4g panel layout with u8 weights 0..qmax and fp32 dw, mw per row and block of 32: lo/hi = min/max of the
// block, dw = (hi - lo)/qmax, q = round-to-nearest-even((v - lo)·qmax/(hi - lo)) clamped to [0, qmax] (0 when hi = lo),
// mw = lo. The product is the q4g one (f = fma(isum, dw·dx, f); f = fma(mw, sx, f) over the blocks in order), so the
// scalar C below and the Swift twin (`TransposedInt8Matrix.reference`) give the same bits. With `accumulate`, y += f.
// The AVX2 kernel sums two k-steps of vpmaddubsw in 16 bits (qmax ≤ 63: 2·2·63·127 = 32,004, no saturation) before
// widening to 32 bits; qmax ≤ 127 widens after every k-step.

// Panel row i, column o of the packed matrix = w[(o - 32·b0) * so + i * si] (rows `in`, columns `out`); only the
// column blocks b0 ..< b1 are written (w holds columns 32·b0 ..< 32·b1: a matrix packed in pieces).
static void q8_pack_strided(const float *w, int out, int in, size_t so, size_t si, int qmax, int b0, int b1, void *panels) {
    const int nb = out / 32, np = (in + 7) / 8;
    uint8_t *base = (uint8_t *)panels;
    w -= (size_t)b0 * 32 * so;
    for (int p = 0; p < np; p++)
        for (int b = b0; b < b1; b++) {
            uint8_t *dst = base + ((size_t)p * nb + b) * 320;
            float dw[8], mw[8];
            for (int r = 0; r < 8; r++) {
                const int i = p * 8 + r;
                if (i >= in) {
                    dw[r] = 0; mw[r] = 0;
                    for (int s = 0; s < 8; s++) memset(dst + s * 32 + r * 4, 0, 4);
                    continue;
                }
                float lo = INFINITY, hi = -INFINITY;
                for (int o = 0; o < 32; o++) {
                    const float v = w[(size_t)(b * 32 + o) * so + (size_t)i * si];
                    lo = fminf(lo, v); hi = fmaxf(hi, v);
                }
                const float range = hi - lo;
                const float id = range > 0 ? (float)qmax / range : 0.0f;
                dw[r] = range > 0 ? range / (float)qmax : 0.0f;
                mw[r] = lo;
                for (int o = 0; o < 32; o++) {
                    const float v = w[(size_t)(b * 32 + o) * so + (size_t)i * si];
                    int q = (int)nearbyintf((v - lo) * id);
                    q = q < 0 ? 0 : (q > qmax ? qmax : q);
                    dst[(o / 4) * 32 + r * 4 + (o % 4)] = (uint8_t)q;
                }
            }
            memcpy(dst + 256, dw, 32);
            memcpy(dst + 288, mw, 32);
        }
}

void ck_q8t_pack(const float *w, int out, int in, int qmax, void *panels) {
    q8_pack_strided(w, out, in, (size_t)in, 1, qmax, 0, out / 32, panels);
}

void ck_q8t_pack_blocks(const float *w, int out, int in, int b0, int b1, int qmax, void *panels) {
    q8_pack_strided(w, out, in, (size_t)in, 1, qmax, b0, b1, panels);
}

void ck_q8r_pack(const float *a, int rows, int cols, int qmax, void *panels) {
    q8_pack_strided(a, cols, rows, 1, (size_t)cols, qmax, 0, cols / 32, panels);
}

#ifdef CK_X86
// One panel × NT tokens (1..4); KS = k-steps summed in 16 bits before widening (2 for qmax ≤ 63, 1 for ≤ 127).
#define Q8T_KERNEL(NAME, NT, KS)                                                                                       \
Q4G_AVX2 static inline void NAME(const uint8_t *panel, int nb, const int8_t *x, size_t cols, const float *dx,          \
                                 const float *sx, __m256 *out) {                                                       \
    const __m256i ones = _mm256_set1_epi16(1);                                                                         \
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;                                                        \
    const int8_t *x0 = x, *x1 = x + cols, *x2 = x + 2 * cols, *x3 = x + 3 * cols;                                      \
    for (int b = 0; b < nb; b++) {                                                                                     \
        const uint8_t *wp = panel + (size_t)b * 320;                                                                   \
        __m256i i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0;                                                \
        for (int s = 0; s < 8; s += KS) {                                                                              \
            const __m256i w = _mm256_load_si256((const __m256i *)(wp + 32 * s));                                       \
            __m256i a0 = _mm256_maddubs_epi16(w, Q4G_BC(x0 + 4 * s)), a1 = a0, a2 = a0, a3 = a0;                       \
            if (NT > 1) a1 = _mm256_maddubs_epi16(w, Q4G_BC(x1 + 4 * s));                                              \
            if (NT > 2) a2 = _mm256_maddubs_epi16(w, Q4G_BC(x2 + 4 * s));                                              \
            if (NT > 3) a3 = _mm256_maddubs_epi16(w, Q4G_BC(x3 + 4 * s));                                              \
            if (KS == 2) {                                                                                             \
                const __m256i v = _mm256_load_si256((const __m256i *)(wp + 32 * s + 32));                              \
                a0 = _mm256_add_epi16(a0, _mm256_maddubs_epi16(v, Q4G_BC(x0 + 4 * s + 4)));                            \
                if (NT > 1) a1 = _mm256_add_epi16(a1, _mm256_maddubs_epi16(v, Q4G_BC(x1 + 4 * s + 4)));                \
                if (NT > 2) a2 = _mm256_add_epi16(a2, _mm256_maddubs_epi16(v, Q4G_BC(x2 + 4 * s + 4)));                \
                if (NT > 3) a3 = _mm256_add_epi16(a3, _mm256_maddubs_epi16(v, Q4G_BC(x3 + 4 * s + 4)));                \
            }                                                                                                          \
            i0 = _mm256_add_epi32(i0, _mm256_madd_epi16(a0, ones));                                                    \
            if (NT > 1) i1 = _mm256_add_epi32(i1, _mm256_madd_epi16(a1, ones));                                        \
            if (NT > 2) i2 = _mm256_add_epi32(i2, _mm256_madd_epi16(a2, ones));                                        \
            if (NT > 3) i3 = _mm256_add_epi32(i3, _mm256_madd_epi16(a3, ones));                                        \
        }                                                                                                              \
        const __m256 dwv = _mm256_load_ps((const float *)(wp + 256)), mwv = _mm256_load_ps((const float *)(wp + 288)); \
        f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + b)), f0);             \
        f0 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + b), f0);                                                    \
        if (NT > 1) {                                                                                                  \
            f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + nb + b)), f1);    \
            f1 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + nb + b), f1);                                           \
        }                                                                                                              \
        if (NT > 2) {                                                                                                  \
            f2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i2), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + 2 * nb + b)), f2); \
            f2 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + 2 * nb + b), f2);                                       \
        }                                                                                                              \
        if (NT > 3) {                                                                                                  \
            f3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i3), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + 3 * nb + b)), f3); \
            f3 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + 3 * nb + b), f3);                                       \
        }                                                                                                              \
        x0 += 32; x1 += 32; x2 += 32; x3 += 32;                                                                        \
    }                                                                                                                  \
    out[0] = f0; out[1] = f1; out[2] = f2; out[3] = f3;                                                                \
}
Q8T_KERNEL(q8t_k4_ks2, 4, 2)
Q8T_KERNEL(q8t_k1_ks2, 1, 2)
Q8T_KERNEL(q8t_k4_ks1, 4, 1)
Q8T_KERNEL(q8t_k1_ks1, 1, 1)

Q4G_AVX2 static inline void q8t_store(float *dst, __m256 v, int count, int accumulate) {
    if (count == 8) {
        if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(dst), v);
        _mm256_storeu_ps(dst, v);
    } else {
        float tmp[8];
        _mm256_storeu_ps(tmp, v);
        for (int r = 0; r < count; r++) dst[r] = accumulate ? dst[r] + tmp[r] : tmp[r];
    }
}

// Tokens in blocks of 128 (their activations stay in L2 while the tile's panels cycle), panels inside.
Q4G_AVX2 static void q8t_gemm_avx2(const uint8_t *P, int rows, int cols, const int8_t *xq, const float *dx,
                                   const float *sx, int n, float *y, size_t ldy, int accumulate, int ks) {
    const int nb = cols / 32, np = (rows + 7) / 8;
    __m256 out[4];
    for (int t0 = 0; t0 < n; t0 += 128) {
        const int t1 = t0 + 128 < n ? t0 + 128 : n;
        for (int p = 0; p < np; p++) {
            const uint8_t *panel = P + (size_t)p * nb * 320;
            const int count = rows - p * 8 >= 8 ? 8 : rows - p * 8;
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                if (ks == 2) q8t_k4_ks2(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, out);
                else q8t_k4_ks1(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, out);
                for (int j = 0; j < 4; j++) q8t_store(y + (size_t)(t + j) * ldy + p * 8, out[j], count, accumulate);
            }
            for (; t < t1; t++) {
                if (ks == 2) q8t_k1_ks2(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, out);
                else q8t_k1_ks1(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, out);
                q8t_store(y + (size_t)t * ldy + p * 8, out[0], count, accumulate);
            }
        }
    }
}
#endif

#ifdef CK_X86
// ---- AVX-512 VNNI (feature bit 2): both panel products ----
// vpdpbusd multiplies u8 weights by s8 activations and adds each group of 4 products straight into a 32-bit lane
// (no 16-bit stage, no saturation), so a block's integer sum is the same integer as the AVX2 kernels' (which never
// saturate, see above) and the scalar C's, whatever qmax; the float part is the AVX2 kernels' operations in the same
// order, so the results are bitwise the same. The Q4_1 panels and the requantized 8-bit panels share one kernel.
// Two accumulators per token (even and odd k-steps, added once per block: integer adds, exact) halve the dependency
// chain through vpdpbusd's latency.
#define Q4G_VNNI __attribute__((target("avx512vnni,avx512vl,avx512bw,avx512f,avx2,fma,f16c")))

// 8 rows (one panel) × NT tokens (1..4), 256-bit.
#define VNNI_KERNEL(NAME, NT)                                                                                          \
Q4G_VNNI static inline void NAME(const uint8_t *panel, int nb, const int8_t *x, size_t cols, const float *dx,          \
                                 const float *sx, __m256 *out) {                                                       \
    __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;                                                        \
    const int8_t *x0 = x, *x1 = x + cols, *x2 = x + 2 * cols, *x3 = x + 3 * cols;                                      \
    for (int b = 0; b < nb; b++) {                                                                                     \
        const uint8_t *wp = panel + (size_t)b * 320;                                                                   \
        __m256i i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0, j0 = i0, j1 = i0, j2 = i0, j3 = i0;            \
        for (int s = 0; s < 8; s += 2) {                                                                               \
            const __m256i w = _mm256_load_si256((const __m256i *)(wp + 32 * s));                                       \
            const __m256i v = _mm256_load_si256((const __m256i *)(wp + 32 * s + 32));                                  \
            i0 = _mm256_dpbusd_epi32(i0, w, Q4G_BC(x0 + 4 * s));                                                       \
            j0 = _mm256_dpbusd_epi32(j0, v, Q4G_BC(x0 + 4 * s + 4));                                                   \
            if (NT > 1) { i1 = _mm256_dpbusd_epi32(i1, w, Q4G_BC(x1 + 4 * s));                                         \
                          j1 = _mm256_dpbusd_epi32(j1, v, Q4G_BC(x1 + 4 * s + 4)); }                                   \
            if (NT > 2) { i2 = _mm256_dpbusd_epi32(i2, w, Q4G_BC(x2 + 4 * s));                                         \
                          j2 = _mm256_dpbusd_epi32(j2, v, Q4G_BC(x2 + 4 * s + 4)); }                                   \
            if (NT > 3) { i3 = _mm256_dpbusd_epi32(i3, w, Q4G_BC(x3 + 4 * s));                                         \
                          j3 = _mm256_dpbusd_epi32(j3, v, Q4G_BC(x3 + 4 * s + 4)); }                                   \
        }                                                                                                              \
        const __m256 dwv = _mm256_load_ps((const float *)(wp + 256)), mwv = _mm256_load_ps((const float *)(wp + 288)); \
        f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(i0, j0)), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + b)), f0); \
        f0 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + b), f0);                                                    \
        if (NT > 1) {                                                                                                  \
            f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(i1, j1)), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + nb + b)), f1); \
            f1 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + nb + b), f1);                                           \
        }                                                                                                              \
        if (NT > 2) {                                                                                                  \
            f2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(i2, j2)), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + 2 * nb + b)), f2); \
            f2 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + 2 * nb + b), f2);                                       \
        }                                                                                                              \
        if (NT > 3) {                                                                                                  \
            f3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(i3, j3)), _mm256_mul_ps(dwv, _mm256_broadcast_ss(dx + 3 * nb + b)), f3); \
            f3 = _mm256_fmadd_ps(mwv, _mm256_broadcast_ss(sx + 3 * nb + b), f3);                                       \
        }                                                                                                              \
        x0 += 32; x1 += 32; x2 += 32; x3 += 32;                                                                        \
    }                                                                                                                  \
    out[0] = f0; out[1] = f1; out[2] = f2; out[3] = f3;                                                                \
}
VNNI_KERNEL(vnni_k4, 4)
VNNI_KERNEL(vnni_k1, 1)

#define Q4G_BC512(p) _mm512_set1_epi32(*(const q4g_i32u *)(p))
#define VNNI_W512(P, Q) _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256((const __m256i *)(P))),          \
                                           _mm256_load_si256((const __m256i *)(Q)), 1)
// 16 rows (two consecutive panels, `panel` and `panel + nb·320`, one in each 256-bit half) × NT tokens, 512-bit: each
// lane does what the 256-bit kernel's lane does. 8 tokens at a time (measured ~10% faster than 4 on this CPU).
#define VNNI512_KERNEL(NAME, NT)                                                                                       \
Q4G_VNNI static inline void NAME(const uint8_t *panel, int nb, const int8_t *x, size_t cols, const float *dx,          \
                                 const float *sx, __m512 *out) {                                                       \
    __m512 f[NT];                                                                                                      \
    _Pragma("clang loop unroll(full)") for (int k = 0; k < NT; k++) f[k] = _mm512_setzero_ps();                        \
    const size_t next = (size_t)nb * 320;                                                                              \
    for (int b = 0; b < nb; b++) {                                                                                     \
        const uint8_t *wp = panel + (size_t)b * 320;                                                                   \
        const int8_t *xb = x + 32 * b;                                                                                 \
        __m512i i[NT], j[NT];                                                                                          \
        _Pragma("clang loop unroll(full)") for (int k = 0; k < NT; k++) { i[k] = _mm512_setzero_si512(); j[k] = i[k]; } \
        _Pragma("clang loop unroll(full)") for (int s = 0; s < 8; s += 2) {                                            \
            const __m512i w = VNNI_W512(wp + 32 * s, wp + next + 32 * s);                                              \
            const __m512i v = VNNI_W512(wp + 32 * s + 32, wp + next + 32 * s + 32);                                    \
            _Pragma("clang loop unroll(full)") for (int k = 0; k < NT; k++) {                                          \
                i[k] = _mm512_dpbusd_epi32(i[k], w, Q4G_BC512(xb + k * cols + 4 * s));                                 \
                j[k] = _mm512_dpbusd_epi32(j[k], v, Q4G_BC512(xb + k * cols + 4 * s + 4));                             \
            }                                                                                                          \
        }                                                                                                              \
        const __m512 dwv = _mm512_castsi512_ps(VNNI_W512(wp + 256, wp + next + 256));                                  \
        const __m512 mwv = _mm512_castsi512_ps(VNNI_W512(wp + 288, wp + next + 288));                                  \
        _Pragma("clang loop unroll(full)") for (int k = 0; k < NT; k++) {                                              \
            f[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(i[k], j[k])),                                   \
                                   _mm512_mul_ps(dwv, _mm512_set1_ps(dx[k * nb + b])), f[k]);                          \
            f[k] = _mm512_fmadd_ps(mwv, _mm512_set1_ps(sx[k * nb + b]), f[k]);                                         \
        }                                                                                                              \
    }                                                                                                                  \
    _Pragma("clang loop unroll(full)") for (int k = 0; k < NT; k++) out[k] = f[k];                                     \
}
VNNI512_KERNEL(vnni512_k8, 8)
VNNI512_KERNEL(vnni512_k4, 4)
VNNI512_KERNEL(vnni512_k1, 1)

Q4G_VNNI static inline void vnni_store8(float *dst, __m256 v, int count, int accumulate) {
    const __mmask8 m = (__mmask8)((1u << count) - 1);
    if (accumulate) v = _mm256_add_ps(_mm256_maskz_loadu_ps(m, dst), v);
    _mm256_mask_storeu_ps(dst, m, v);
}
Q4G_VNNI static inline void vnni_store16(float *dst, __m512 v, int count, int accumulate) {
    const __mmask16 m = (__mmask16)((1u << count) - 1);
    if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dst), v);
    _mm512_mask_storeu_ps(dst, m, v);
}

// Both products: tokens in blocks of 128 (as q8t_gemm_avx2), pairs of panels inside (the 512-bit kernel: measured
// ~1.7× the 256-bit one's GFLOP/s on this CPU), a last odd panel through the 256-bit kernel; partial panels through
// masked loads/stores (the same adds as the AVX2 path's scalar tails).
Q4G_VNNI static void gemm_vnni(const uint8_t *P, int rows, int cols, const int8_t *xq, const float *dx, const float *sx,
                               int n, float *y, size_t ldy, int accumulate) {
    const int nb = cols / 32, np = (rows + 7) / 8;
    for (int t0 = 0; t0 < n; t0 += 128) {
        const int t1 = t0 + 128 < n ? t0 + 128 : n;
        int p = 0;
        __m512 o16[8];
        for (; p + 2 <= np; p += 2) {
            const uint8_t *panel = P + (size_t)p * nb * 320;
            const int count = rows - p * 8 >= 16 ? 16 : rows - p * 8;
            int t = t0;
            for (; t + 8 <= t1; t += 8) {
                vnni512_k8(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, o16);
                for (int j = 0; j < 8; j++) vnni_store16(y + (size_t)(t + j) * ldy + p * 8, o16[j], count, accumulate);
            }
            for (; t + 4 <= t1; t += 4) {
                vnni512_k4(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, o16);
                for (int j = 0; j < 4; j++) vnni_store16(y + (size_t)(t + j) * ldy + p * 8, o16[j], count, accumulate);
            }
            for (; t < t1; t++) {
                vnni512_k1(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, o16);
                vnni_store16(y + (size_t)t * ldy + p * 8, o16[0], count, accumulate);
            }
        }
        __m256 out[4];
        for (; p < np; p++) {
            const uint8_t *panel = P + (size_t)p * nb * 320;
            const int count = rows - p * 8 >= 8 ? 8 : rows - p * 8;
            int t = t0;
            for (; t + 4 <= t1; t += 4) {
                vnni_k4(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, out);
                for (int j = 0; j < 4; j++) vnni_store8(y + (size_t)(t + j) * ldy + p * 8, out[j], count, accumulate);
            }
            for (; t < t1; t++) {
                vnni_k1(panel, nb, xq + (size_t)t * cols, (size_t)cols, dx + (size_t)t * nb, sx + (size_t)t * nb, out);
                vnni_store8(y + (size_t)t * ldy + p * 8, out[0], count, accumulate);
            }
        }
    }
}
#endif

void ck_q8t_gemm(const void *panels, int rows, int cols, int qmax, const int8_t *xq, const float *dx, const float *sx,
                 int n, float *y, size_t ldy, int accumulate) {
#ifdef CK_X86
    if (ck_active_features() & 2) { gemm_vnni((const uint8_t *)panels, rows, cols, xq, dx, sx, n, y, ldy, accumulate); return; }
    if (ck_active_features() & 1) {
        q8t_gemm_avx2((const uint8_t *)panels, rows, cols, xq, dx, sx, n, y, ldy, accumulate, qmax <= 63 ? 2 : 1);
        return;
    }
#endif
    gemm_scalar((const uint8_t *)panels, rows, cols, xq, dx, sx, n, y, ldy, accumulate);
}
