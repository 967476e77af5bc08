// Quantized dot products and dequantization: scalar C (portable) and AVX2 (+FMA, F16C) versions chosen at run time.
// Block layouts follow ggml (ggml-common.h); the code is ours.
#include "ckernels.h"
#include "ck_common.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CK_X86 1
#endif

int ck_active_features(void);

// ---------------------------------------------------------------- helpers
static inline float bf16_to_f32(uint16_t h) { uint32_t b = (uint32_t)h << 16; float f; memcpy(&f, &b, 4); return f; }
static inline uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) { *d = q[j] & 63; *m = q[j + 4] & 63; }
    else { *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4); *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4); }
}

int ck_supports(int t) {
    switch (t) {
    case CK_F32: case CK_F16: case CK_BF16: case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: case CK_Q8_0:
    case CK_Q8_1: case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: return 1;
    default: return 0;
    }
}
int ck_uses_float_activations(int t) { return t == CK_F32 || t == CK_F16 || t == CK_BF16; }

// ---------------------------------------------------------------- activation quantization
static void quantize_q8_scalar(const float *x, int n, ck_q8_block *y) {
    for (int b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        float amax = 0;
        for (int j = 0; j < 32; j++) { float a = fabsf(v[j]); if (a > amax) amax = a; }
        float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;   /* ggml: 127/amax, not 1/d */
        int s0 = 0, s1 = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)nearbyintf(v[j] * id);
            y[b].qs[j] = (int8_t)q;
            if (j < 16) s0 += q; else s1 += q;
        }
        y[b].d = d; y[b].ds = d * (float)(s0 + s1); y[b].s0 = (int16_t)s0; y[b].s1 = (int16_t)s1; y[b].pad = 0;
    }
}

// ---------------------------------------------------------------- scalar dots (portable fallback)
static float dot_scalar(int type, const uint8_t *w, int cols, const ck_q8_block *x, const float *xf) {
    int nb = cols / 32;
    float sum = 0;
    switch (type) {
    case CK_F32: { const float *r = (const float *)(const void *)w; for (int i = 0; i < cols; i++) sum += r[i] * xf[i]; return sum; }
    case CK_F16: for (int i = 0; i < cols; i++) sum += ck_half_to_float(rd16(w + 2 * i)) * xf[i]; return sum;
    case CK_BF16: for (int i = 0; i < cols; i++) sum += bf16_to_f32(rd16(w + 2 * i)) * xf[i]; return sum;
    case CK_Q4_0: case CK_Q4_1:
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = w + b * (type == CK_Q4_0 ? 18 : 20);
            const uint8_t *qs = p + (type == CK_Q4_0 ? 2 : 4);
            int acc = 0;
            for (int j = 0; j < 16; j++) acc += (qs[j] & 0xF) * x[b].qs[j] + (qs[j] >> 4) * x[b].qs[j + 16];
            float d = ck_half_to_float(rd16(p)), sx = (float)(x[b].s0 + x[b].s1);
            if (type == CK_Q4_0) sum += d * x[b].d * (float)(acc - 8 * (x[b].s0 + x[b].s1));
            else sum += d * x[b].d * (float)acc + ck_half_to_float(rd16(p + 2)) * x[b].d * sx;
        }
        return sum;
    case CK_Q5_0: case CK_Q5_1:
        for (int b = 0; b < nb; b++) {
            int q51 = type == CK_Q5_1;
            const uint8_t *p = w + b * (q51 ? 24 : 22);
            uint32_t qh = rd32(p + (q51 ? 4 : 2));
            const uint8_t *qs = p + (q51 ? 8 : 6);
            int acc = 0;
            for (int j = 0; j < 16; j++) {
                int lo = (qs[j] & 0xF) | (((qh >> j) & 1) << 4), hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
                acc += lo * x[b].qs[j] + hi * x[b].qs[j + 16];
            }
            float d = ck_half_to_float(rd16(p));
            int sx = x[b].s0 + x[b].s1;
            if (!q51) sum += d * x[b].d * (float)(acc - 16 * sx);
            else sum += d * x[b].d * (float)acc + ck_half_to_float(rd16(p + 2)) * x[b].d * (float)sx;
        }
        return sum;
    case CK_Q8_0: case CK_Q8_1:
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = w + b * (type == CK_Q8_0 ? 34 : 36);
            const int8_t *qs = (const int8_t *)(p + (type == CK_Q8_0 ? 2 : 4));
            int acc = 0;
            for (int j = 0; j < 32; j++) acc += qs[j] * x[b].qs[j];
            sum += ck_half_to_float(rd16(p)) * x[b].d * (float)acc;
        }
        return sum;
    case CK_Q4_K: case CK_Q5_K:
        for (int s = 0; s < cols / 256; s++) {
            int q5 = type == CK_Q5_K;
            const uint8_t *p = w + s * (q5 ? 176 : 144);
            float d = ck_half_to_float(rd16(p)), dmin = ck_half_to_float(rd16(p + 2));
            const uint8_t *sc = p + 4, *qh = p + 16, *qs = p + (q5 ? 48 : 16);
            for (int k = 0; k < 8; k++) {
                uint8_t scale, mn;
                scale_min_k4(k, sc, &scale, &mn);
                const ck_q8_block *xb = &x[8 * s + k];
                const uint8_t *q = qs + 32 * (k / 2);
                int acc = 0;
                for (int l = 0; l < 32; l++) {
                    int v = (k & 1) ? (q[l] >> 4) : (q[l] & 0xF);
                    if (q5) v |= ((qh[l] >> k) & 1) << 4;
                    acc += v * xb->qs[l];
                }
                sum += d * (float)scale * xb->d * (float)acc - dmin * (float)mn * xb->d * (float)(xb->s0 + xb->s1);
            }
        }
        return sum;
    case CK_Q6_K:
        for (int s = 0; s < cols / 256; s++) {
            const uint8_t *p = w + s * 210;
            float d = ck_half_to_float(rd16(p + 208));
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = p + 64 * h, *qh = p + 128 + 32 * h;
                const int8_t *sc = (const int8_t *)(p + 192 + 8 * h);
                for (int c = 0; c < 4; c++) {
                    const ck_q8_block *xb = &x[8 * s + 4 * h + c];
                    int a0 = 0, a1 = 0;
                    for (int l = 0; l < 32; l++) {
                        int lo = (c & 1) ? ql[l + 32] : ql[l];
                        int v = ((c & 2) ? (lo >> 4) : (lo & 0xF)) | (((qh[l] >> (2 * c)) & 3) << 4);
                        if (l < 16) a0 += v * xb->qs[l]; else a1 += v * xb->qs[l];
                    }
                    int acc = sc[2 * c] * (a0 - 32 * xb->s0) + sc[2 * c + 1] * (a1 - 32 * xb->s1);
                    sum += d * xb->d * (float)acc;
                }
            }
        }
        return sum;
    }
    return 0;
}

static void dequant_scalar(int type, const uint8_t *src, float *y, int n) {
    int nb = n / 32;
    switch (type) {
    case CK_F32: memcpy(y, src, (size_t)n * 4); return;
    case CK_F16: for (int i = 0; i < n; i++) y[i] = ck_half_to_float(rd16(src + 2 * i)); return;
    case CK_BF16: for (int i = 0; i < n; i++) y[i] = bf16_to_f32(rd16(src + 2 * i)); return;
    case CK_Q4_0: case CK_Q4_1:
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = src + b * (type == CK_Q4_0 ? 18 : 20);
            float d = ck_half_to_float(rd16(p));
            const uint8_t *qs = p + (type == CK_Q4_0 ? 2 : 4);
            float *o = y + 32 * b;
            if (type == CK_Q4_0) {
                for (int j = 0; j < 16; j++) { o[j] = (float)((qs[j] & 0xF) - 8) * d; o[j + 16] = (float)((qs[j] >> 4) - 8) * d; }
            } else {
                float m = ck_half_to_float(rd16(p + 2));
                for (int j = 0; j < 16; j++) { o[j] = (float)(qs[j] & 0xF) * d + m; o[j + 16] = (float)(qs[j] >> 4) * d + m; }
            }
        }
        return;
    case CK_Q5_0: case CK_Q5_1:
        for (int b = 0; b < nb; b++) {
            int q51 = type == CK_Q5_1;
            const uint8_t *p = src + b * (q51 ? 24 : 22);
            float d = ck_half_to_float(rd16(p)), m = q51 ? ck_half_to_float(rd16(p + 2)) : 0;
            uint32_t qh = rd32(p + (q51 ? 4 : 2));
            const uint8_t *qs = p + (q51 ? 8 : 6);
            float *o = y + 32 * b;
            for (int j = 0; j < 16; j++) {
                int lo = (qs[j] & 0xF) | (((qh >> j) & 1) << 4), hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
                if (q51) { o[j] = (float)lo * d + m; o[j + 16] = (float)hi * d + m; }
                else { o[j] = (float)(lo - 16) * d; o[j + 16] = (float)(hi - 16) * d; }
            }
        }
        return;
    case CK_Q8_0: case CK_Q8_1:
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = src + b * (type == CK_Q8_0 ? 34 : 36);
            const int8_t *qs = (const int8_t *)(p + (type == CK_Q8_0 ? 2 : 4));
            float d = ck_half_to_float(rd16(p));
            for (int j = 0; j < 32; j++) y[32 * b + j] = (float)qs[j] * d;
        }
        return;
    case CK_Q4_K: case CK_Q5_K:
        for (int s = 0; s < n / 256; s++) {
            int q5 = type == CK_Q5_K;
            const uint8_t *p = src + s * (q5 ? 176 : 144);
            float d = ck_half_to_float(rd16(p)), dmin = ck_half_to_float(rd16(p + 2));
            const uint8_t *sc = p + 4, *qh = p + 16, *qs = p + (q5 ? 48 : 16);
            for (int k = 0; k < 8; k++) {
                uint8_t scale, mn;
                scale_min_k4(k, sc, &scale, &mn);
                float d1 = d * (float)scale, m1 = dmin * (float)mn;
                const uint8_t *q = qs + 32 * (k / 2);
                float *o = y + 256 * s + 32 * k;
                for (int l = 0; l < 32; l++) {
                    int v = (k & 1) ? (q[l] >> 4) : (q[l] & 0xF);
                    if (q5) v += ((qh[l] >> k) & 1) << 4;
                    o[l] = d1 * (float)v - m1;
                }
            }
        }
        return;
    case CK_Q6_K:
        for (int s = 0; s < n / 256; s++) {
            const uint8_t *p = src + s * 210;
            float d = ck_half_to_float(rd16(p + 208));
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = p + 64 * h, *qh = p + 128 + 32 * h;
                const int8_t *sc = (const int8_t *)(p + 192 + 8 * h);
                float *o = y + 256 * s + 128 * h;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    o[l] = d * (float)sc[is] * (float)q1;
                    o[l + 32] = d * (float)sc[is + 2] * (float)q2;
                    o[l + 64] = d * (float)sc[is + 4] * (float)q3;
                    o[l + 96] = d * (float)sc[is + 6] * (float)q4;
                }
            }
        }
        return;
    }
}

#if CK_X86
// ---------------------------------------------------------------- AVX2
#define AVX2 __attribute__((target("avx2,fma,f16c")))
// 0: row-pair prefetch for every row; 1 (default): linear stream for rows of >= CK_LIN_MIN_ROW bytes; 2: linear always.
static int ck_prefetch_mode = 1;
// CMAT_PREFETCH=0|1|2 overrides the default (for A/B measurements of the same build).
__attribute__((constructor)) static void ck_prefetch_env(void) {
    const char *e = getenv("CMAT_PREFETCH");
    if (e && e[0] >= '0' && e[0] <= '2' && e[1] == 0) ck_prefetch_mode = e[0] - '0';
}

AVX2 static inline float hsum_ps(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}
AVX2 static inline float h2f(const uint8_t *p) { return _cvtsh_ss(rd16(p)); }
// 16 bytes of nibbles -> 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31.
AVX2 static inline __m256i nibbles32(const uint8_t *qs) {
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}
// Bit j of the 32 bits at p -> 0x10 in byte j.
AVX2 static inline __m256i bits32_to_0x10(const uint8_t *p) {
    __m256i v = _mm256_set1_epi32((int)rd32(p));
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0);
    v = _mm256_shuffle_epi8(v, shuf);
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, sel), sel);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}
// Σ u*s over 32 bytes (u unsigned ≤ 63, s signed) as 8 int32 lanes.
AVX2 static inline __m256i dot_us(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// 16 bytes of nibbles -> 32 bytes (low nibbles, then high nibbles): broadcast, shift the upper lane by 4, mask.
AVX2 static inline __m256i nibbles32b(const uint8_t *qs) {
    __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    b = _mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}
// [d_w, m_w] (two halves at p, or d_w twice) times [x.d, x.ds].
AVX2 static inline __m128 scales2(const uint8_t *p, int has_min, __m128 xs) {
    __m128i h = has_min ? _mm_cvtsi32_si128((int)rd32(p)) : _mm_set1_epi16((short)rd16(p));
    return _mm_mul_ps(_mm_cvtph_ps(h), xs);
}

// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 against int8 activations, two rows at a time (the activation block is loaded
// once for both). Lane 0 of a scale pair multiplies the integer dot; lane 1 (d_w·ds or m_w·ds) accumulates the
// zero-point / min term.
// Prefetch (same arithmetic either way): `lin` 0 prefetches the pair of rows four pairs ahead at the current block
// offset; `lin` 1 treats the rows of a chunk as one contiguous stream (w1 = w0 + row bytes) and prefetches it
// CK_LIN_PF bytes ahead of the pair's linearized position. Long rows stream faster with the second (SmolLM2, one
// thread's CPU time per token, measured beside the lead's SFT run: 0.66x for the Q8_0 output head, 612-byte rows;
// 0.84x for ffn_down, Q4_1 960-byte rows; README, session 6); its 360-byte rows were no faster (not used there).
#define CK_LIN_PF 4096
#define CK_LIN_MIN_ROW 512
#define DEF_DOT32(NAME, BS, HAS_MIN, QUANTS, ZERO)                                                          \
AVX2 static inline void NAME##_k(const uint8_t *w0, const uint8_t *w1, int nb, const ck_q8_block *x, float *out,  \
                                 const int lin) {                                                          \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();                                         \
    __m128 side0 = _mm_setzero_ps(), side1 = _mm_setzero_ps();                                             \
    const ptrdiff_t dist = w1 - w0;                                                                        \
    for (int b = 0; b < nb; b++) {                                                                         \
        const ck_q8_block *xb = x + b;                                                                     \
        __m256i xq = _mm256_loadu_si256((const __m256i *)xb->qs);                                          \
        __m128 xs = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)xb));                                \
        const uint8_t *p0 = w0 + BS * b, *p1 = w1 + BS * b;                                                \
        /* the pair of rows four pairs ahead: two interleaved streams defeat the hardware prefetcher (measured \
           3-4x), and one pair ahead is too close to cover DRAM latency (measured ~25% slower when streaming) */ \
        if (lin) {                                                                                         \
            const char *q_ = (const char *)(w0 + 2 * BS * b + CK_LIN_PF);                                  \
            _mm_prefetch(q_, _MM_HINT_T0);                                                                 \
            if (2 * BS > 64) _mm_prefetch(q_ + BS, _MM_HINT_T0);                                           \
        } else {                                                                                           \
            _mm_prefetch((const char *)(p1 + 7 * dist), _MM_HINT_T0);                                      \
            _mm_prefetch((const char *)(p1 + 8 * dist), _MM_HINT_T0);                                      \
        }                                                                                                  \
        __m128 s0 = scales2(p0, HAS_MIN, xs), s1 = scales2(p1, HAS_MIN, xs);                                \
        __m256i i0, i1;                                                                                    \
        { const uint8_t *p = p0; QUANTS; i0 = dv; }                                                        \
        { const uint8_t *p = p1; QUANTS; i1 = dv; }                                                        \
        acc0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(s0), _mm256_cvtepi32_ps(i0), acc0);                    \
        acc1 = _mm256_fmadd_ps(_mm256_broadcastss_ps(s1), _mm256_cvtepi32_ps(i1), acc1);                    \
        side0 = _mm_add_ps(side0, s0);                                                                     \
        side1 = _mm_add_ps(side1, s1);                                                                     \
    }                                                                                                      \
    float sd0 = _mm_cvtss_f32(_mm_shuffle_ps(side0, side0, 1));                                            \
    float sd1 = _mm_cvtss_f32(_mm_shuffle_ps(side1, side1, 1));                                            \
    out[0] = hsum_ps(acc0) + (HAS_MIN ? sd0 : ZERO * sd0);                                                 \
    out[1] = hsum_ps(acc1) + (HAS_MIN ? sd1 : ZERO * sd1);                                                 \
}                                                                                                          \
AVX2 static void NAME(const uint8_t *w0, const uint8_t *w1, int nb, const ck_q8_block *x, float *out) {    \
    NAME##_k(w0, w1, nb, x, out, 0);                                                                       \
}                                                                                                          \
AVX2 static void NAME##_lin(const uint8_t *w0, const uint8_t *w1, int nb, const ck_q8_block *x, float *out) { \
    NAME##_k(w0, w1, nb, x, out, 1);                                                                       \
}

#define Q4_0_Q __m256i dv = dot_us(nibbles32b(p + 2), xq)
#define Q4_1_Q __m256i dv = dot_us(nibbles32b(p + 4), xq)
#define Q5_0_Q __m256i dv = dot_us(_mm256_or_si256(nibbles32b(p + 6), bits32_to_0x10(p + 2)), xq)
#define Q5_1_Q __m256i dv = dot_us(_mm256_or_si256(nibbles32b(p + 8), bits32_to_0x10(p + 4)), xq)
#define Q8_Q(OFF) __m256i q_ = _mm256_loadu_si256((const __m256i *)(p + OFF));                                \
    __m256i dv = dot_us(_mm256_sign_epi8(q_, q_), _mm256_sign_epi8(xq, q_))

DEF_DOT32(dot_q4_0_avx2, 18, 0, Q4_0_Q, -8.0f)
DEF_DOT32(dot_q4_1_avx2, 20, 1, Q4_1_Q, 0.0f)
DEF_DOT32(dot_q5_0_avx2, 22, 0, Q5_0_Q, -16.0f)
DEF_DOT32(dot_q5_1_avx2, 24, 1, Q5_1_Q, 0.0f)
DEF_DOT32(dot_q8_0_avx2, 34, 0, Q8_Q(2), 0.0f)
DEF_DOT32(dot_q8_1_avx2, 36, 0, Q8_Q(4), 0.0f)

AVX2 static float dot_qk45_avx2(const uint8_t *w, int cols, const ck_q8_block *x, int q5) {
    __m256 acc = _mm256_setzero_ps();
    float mins = 0;
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    for (int s = 0; s < cols / 256; s++) {
        const uint8_t *p = w + s * (q5 ? 176 : 144);
        float d = h2f(p), dmin = h2f(p + 2);
        const uint8_t *sc = p + 4, *qs = p + (q5 ? 48 : 16);
        __m256i hb = q5 ? _mm256_loadu_si256((const __m256i *)(p + 16)) : _mm256_setzero_si256();
        const ck_q8_block *xb = x + 8 * s;
        for (int g = 0; g < 4; g++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
            __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            if (q5) {
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * g), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * g + 1), one), 4));
            }
            uint8_t s1, m1, s2, m2;
            scale_min_k4(2 * g, sc, &s1, &m1);
            scale_min_k4(2 * g + 1, sc, &s2, &m2);
            const ck_q8_block *x1 = xb + 2 * g, *x2 = x1 + 1;
            __m256i i1 = dot_us(lo, _mm256_loadu_si256((const __m256i *)x1->qs));
            __m256i i2 = dot_us(hi, _mm256_loadu_si256((const __m256i *)x2->qs));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)s1 * x1->d), _mm256_cvtepi32_ps(i1), acc);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)s2 * x2->d), _mm256_cvtepi32_ps(i2), acc);
            mins += dmin * ((float)m1 * x1->ds + (float)m2 * x2->ds);
        }
    }
    return hsum_ps(acc) - mins;
}

AVX2 static float dot_q6_k_avx2(const uint8_t *w, int cols, const ck_q8_block *x) {
    __m256 acc = _mm256_setzero_ps();
    float corr = 0;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    for (int s = 0; s < cols / 256; s++) {
        const uint8_t *p = w + s * 210;
        float d = h2f(p + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = p + 64 * h, *qhp = p + 128 + 32 * h;
            const int8_t *sc = (const int8_t *)(p + 192 + 8 * h);
            __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)qhp);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
            for (int c = 0; c < 4; c++) {
                const ck_q8_block *xb = x + 8 * s + 4 * h + c;
                __m256i p16 = _mm256_maddubs_epi16(q[c], _mm256_loadu_si256((const __m256i *)xb->qs));
                __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[2 * c + 1]), _mm_set1_epi16(sc[2 * c]));
                __m256i i32 = _mm256_madd_epi16(p16, scv);
                float dd = d * xb->d;
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(i32), acc);
                corr += dd * (float)(32 * (sc[2 * c] * xb->s0 + sc[2 * c + 1] * xb->s1));
            }
        }
    }
    return hsum_ps(acc) - corr;
}

AVX2 static float dot_f32_avx2(const float *r, const float *x, int n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r + i), _mm256_loadu_ps(x + i), a0);
    float s = hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += r[i] * x[i];
    return s;
}

AVX2 static inline __m256 load8_f16(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
AVX2 static inline __m256 load8_bf16(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
AVX2 static float dot_f16_avx2(const uint8_t *r, const float *x, int n, int bf) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 w0 = bf ? load8_bf16(r + 2 * i) : load8_f16(r + 2 * i);
        __m256 w1 = bf ? load8_bf16(r + 2 * i + 16) : load8_f16(r + 2 * i + 16);
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), a1);
    }
    float s = hsum_ps(_mm256_add_ps(a0, a1));
    for (; i < n; i++) s += (bf ? bf16_to_f32(rd16(r + 2 * i)) : ck_half_to_float(rd16(r + 2 * i))) * x[i];
    return s;
}

typedef void (*pair_fn)(const uint8_t *, const uint8_t *, int, const ck_q8_block *, float *);

AVX2 static void rows_avx2(int type, const uint8_t *w, size_t rb, int cols, const ck_q8_block *x, const float *xf,
                           float *y, int r0, int r1) {
    int nb = cols / 32;
    pair_fn pf = NULL;
    switch (type) {
    case CK_Q4_0: pf = dot_q4_0_avx2; break;
    case CK_Q4_1: pf = dot_q4_1_avx2; break;
    case CK_Q5_0: pf = dot_q5_0_avx2; break;
    case CK_Q5_1: pf = dot_q5_1_avx2; break;
    case CK_Q8_0: pf = dot_q8_0_avx2; break;
    case CK_Q8_1: pf = dot_q8_1_avx2; break;
    }
    if (pf && (ck_prefetch_mode == 2 || (ck_prefetch_mode == 1 && rb >= CK_LIN_MIN_ROW))) {
        switch (type) {
        case CK_Q8_0: pf = dot_q8_0_avx2_lin; break;
        case CK_Q8_1: pf = dot_q8_1_avx2_lin; break;
        case CK_Q4_0: pf = dot_q4_0_avx2_lin; break;
        case CK_Q4_1: pf = dot_q4_1_avx2_lin; break;
        case CK_Q5_0: pf = dot_q5_0_avx2_lin; break;
        case CK_Q5_1: pf = dot_q5_1_avx2_lin; break;
        }
    }
    if (pf) {
        int r = r0;
        for (; r + 1 < r1; r += 2) pf(w + (size_t)r * rb, w + (size_t)(r + 1) * rb, nb, x, y + (r - r0));
        if (r < r1) {   // odd row: pair it with itself
            float t[2];
            pf(w + (size_t)r * rb, w + (size_t)r * rb, nb, x, t);
            y[r - r0] = t[0];
        }
        return;
    }
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * rb;
        float v;
        switch (type) {
        case CK_Q4_K: v = dot_qk45_avx2(row, cols, x, 0); break;
        case CK_Q5_K: v = dot_qk45_avx2(row, cols, x, 1); break;
        case CK_Q6_K: v = dot_q6_k_avx2(row, cols, x); break;
        case CK_F32: v = dot_f32_avx2((const float *)(const void *)row, xf, cols); break;
        case CK_F16: v = dot_f16_avx2(row, xf, cols, 0); break;
        case CK_BF16: v = dot_f16_avx2(row, xf, cols, 1); break;
        default: v = 0;
        }
        y[r - r0] = v;
    }
}

AVX2 static void quantize_q8_avx2(const float *x, int n, ck_q8_block *y) {
    for (int b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
        float amax = ck_amax32_avx2(v0, v1, v2, v3);
        float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;   /* ggml: 127/amax, not 1/d */
        __m256 idv = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, idv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, idv));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, idv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, idv));
        __m256i s01 = _mm256_add_epi32(i0, i1), s23 = _mm256_add_epi32(i2, i3);
        // pack to int8 in element order
        __m256i p01 = _mm256_packs_epi32(i0, i1), p23 = _mm256_packs_epi32(i2, i3);
        __m256i p = _mm256_packs_epi16(p01, p23);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[b].qs, p);
        __m128i t0 = _mm_add_epi32(_mm256_castsi256_si128(s01), _mm256_extracti128_si256(s01, 1));
        __m128i t1 = _mm_add_epi32(_mm256_castsi256_si128(s23), _mm256_extracti128_si256(s23, 1));
        t0 = _mm_hadd_epi32(t0, t1);   // [a01, a23, b01, b23]
        t0 = _mm_hadd_epi32(t0, t0);
        y[b].d = d;
        int a0 = _mm_extract_epi32(t0, 0), a1 = _mm_extract_epi32(t0, 1);
        y[b].s0 = (int16_t)a0;
        y[b].s1 = (int16_t)a1;
        y[b].ds = d * (float)(a0 + a1);
        y[b].pad = 0;
    }
}

AVX2 static void dequant_avx2(int type, const uint8_t *src, float *y, int n) {
    int nb = n / 32;
    switch (type) {
    case CK_Q4_0: case CK_Q4_1: {
        int bs = type == CK_Q4_0 ? 18 : 20;
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = src + bs * b;
            __m256 d = _mm256_set1_ps(h2f(p));
            __m256 m = type == CK_Q4_0 ? _mm256_set1_ps(-8 * h2f(p)) : _mm256_set1_ps(h2f(p + 2));
            __m256i q = nibbles32(p + (type == CK_Q4_0 ? 2 : 4));
            __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
            float *o = y + 32 * b;
            _mm256_storeu_ps(o, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), d, m));
            _mm256_storeu_ps(o + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), d, m));
            _mm256_storeu_ps(o + 16, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), d, m));
            _mm256_storeu_ps(o + 24, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), d, m));
        }
        return;
    }
    case CK_Q8_0:
        for (int b = 0; b < nb; b++) {
            const uint8_t *p = src + 34 * b;
            __m256 d = _mm256_set1_ps(h2f(p));
            float *o = y + 32 * b;
            for (int k = 0; k < 4; k++) {
                __m128i q = _mm_loadl_epi64((const __m128i *)(p + 2 + 8 * k));
                _mm256_storeu_ps(o + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d));
            }
        }
        return;
    case CK_F16: {
        int i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load8_f16(src + 2 * i));
        for (; i < n; i++) y[i] = ck_half_to_float(rd16(src + 2 * i));
        return;
    }
    case CK_BF16: {
        int i = 0;
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load8_bf16(src + 2 * i));
        for (; i < n; i++) y[i] = bf16_to_f32(rd16(src + 2 * i));
        return;
    }
    default:
        dequant_scalar(type, src, y, n);
    }
}
#endif

// ---------------------------------------------------------------- dispatch
void ck_quantize_q8(const float *x, int n, ck_q8_block *y) {
#if CK_X86
    if (ck_active_features() & 1) { quantize_q8_avx2(x, n, y); return; }
#endif
    quantize_q8_scalar(x, n, y);
}

void ck_vec_dot_rows(int type, const void *w, size_t row_bytes, int cols, const ck_q8_block *xq, const float *xf,
                     float *y, int r0, int r1) {
#if CK_X86
    if (ck_active_features() & 1) { rows_avx2(type, (const uint8_t *)w, row_bytes, cols, xq, xf, y, r0, r1); return; }
#endif
    for (int r = r0; r < r1; r++) y[r - r0] = dot_scalar(type, (const uint8_t *)w + (size_t)r * row_bytes, cols, xq, xf);
}

void ck_set_prefetch_mode(int mode) {
#if CK_X86
    ck_prefetch_mode = mode;
#else
    (void)mode;
#endif
}

void ck_dequantize_row(int type, const void *src, float *dst, int n) {
#if CK_X86
    if (ck_active_features() & 1) { dequant_avx2(type, (const uint8_t *)src, dst, n); return; }
#endif
    dequant_scalar(type, (const uint8_t *)src, dst, n);
}
