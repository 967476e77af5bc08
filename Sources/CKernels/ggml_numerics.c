// llama.cpp-compatible attention and activation numerics (owner: llm). These reproduce, bit for bit, what ggml's CPU
// backend computes (llama.cpp c392e50 built with AVX-512, the build the oracles come from), using AVX2+FMA+F16C:
//  * exp: ggml_v_expf's AVX-512 formula (FMA polynomial, then scalef), evaluated lane by lane;
//  * SiLU: x / (1 + exp(0 - x)), then the product with the up projection;
//  * attention of one head over f16 K/V, with the summation orders of ggml_vec_dot_f16 (one token: 4 accumulators of
//    16 lanes, a tree reduction, then a double tail) or of llamafile's tinyBLAS (a batch: one 16-lane accumulator);
//    the softmax sums 16-lane chunks in double, and the probabilities are rounded to f16 before the V product.
// Products of two f16 values are exact in f32, so an FMA with an f16×f16 product equals a plain add of that product;
// every other fused operation is written out explicitly (no compiler contraction in this file).
// Only the AVX2 path lives here; the Swift twin (LLM.GGMLNumerics) is the portable path and the reference.
#include "ckernels.h"
#include <math.h>
#include <string.h>
#pragma clang fp contract(off)

int ck_active_features(void);

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,f16c")))

// 16 lanes (lo = 0..7, hi = 8..15) reduced as _mm512_reduce_add_ps: l+8, l+4, l+2, l+1.
AVX2 static inline float reduce16(__m256 lo, __m256 hi) {
    __m256 a = _mm256_add_ps(lo, hi);
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

// The largest of p[0..<n] (-inf for n = 0): 8 lanes, then a tree, then the tail.
AVX2 static inline float row_max_avx2(const float *p, int n) {
    __m256 mv = _mm256_set1_ps(-INFINITY);
    int t = 0;
    for (; t + 8 <= n; t += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(p + t));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float mx = _mm_cvtss_f32(m4);
    for (; t < n; t++) if (p[t] > mx) mx = p[t];
    return mx;
}

// 2^e for integer-valued e in [-126, 127] (as float lanes).
AVX2 static inline __m256 pow2i(__m256 e) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(e), _mm256_set1_epi32(127)), 23));
}

// ggml_v_expf (AVX-512 variant): the same operations, 8 lanes.
AVX2 static inline __m256 gg_expf8(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    // scalef(j, n) = j · 2^n, rounded once: split 2^n into two normal factors where n leaves [-126, 127]
    const __m256 an = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    if (_mm256_movemask_ps(_mm256_cmp_ps(an, _mm256_set1_ps(126), _CMP_GT_OQ)) == 0)
        return _mm256_mul_ps(j, pow2i(n));
    const __m256 lowm = _mm256_cmp_ps(n, _mm256_set1_ps(-126), _CMP_LT_OQ);
    const __m256 highm = _mm256_cmp_ps(n, _mm256_set1_ps(127), _CMP_GT_OQ);
    const __m256 nc = _mm256_max_ps(_mm256_min_ps(n, _mm256_set1_ps(192)), _mm256_set1_ps(-192));
    __m256 ea = _mm256_blendv_ps(nc, _mm256_add_ps(nc, _mm256_set1_ps(100)), lowm);
    ea = _mm256_blendv_ps(ea, _mm256_set1_ps(127), highm);
    __m256 eb = _mm256_blendv_ps(_mm256_setzero_ps(), _mm256_set1_ps(-100), lowm);
    eb = _mm256_blendv_ps(eb, _mm256_sub_ps(nc, _mm256_set1_ps(127)), highm);
    __m256 res = _mm256_mul_ps(_mm256_mul_ps(j, pow2i(ea)), pow2i(eb));
    // |n| > 192: 0 below, +inf above (NaN lanes stay NaN through the comparison being false)
    const __m256 far = _mm256_cmp_ps(an, _mm256_set1_ps(192), _CMP_GT_OQ);
    const __m256 alt = _mm256_blendv_ps(_mm256_set1_ps(INFINITY), _mm256_setzero_ps(),
                                        _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ));
    return _mm256_blendv_ps(res, alt, far);
}

/* p[t] = exp(p[t] - mx) for t < nkv, returning their sum: 16-lane chunks (gg_expf8) each reduced and added in double,
   then the C library's expf for the tail, as ggml's softmax does. Shared by the prefill and decode attention. */
AVX2 static double exp_sum_in_place(float *p, int nkv, float mx) {
    double sum = 0;
    int t = 0;
    const __m256 mv = _mm256_set1_ps(mx);
    for (; t + 16 <= nkv; t += 16) {
        __m256 e0 = gg_expf8(_mm256_sub_ps(_mm256_loadu_ps(p + t), mv));
        __m256 e1 = gg_expf8(_mm256_sub_ps(_mm256_loadu_ps(p + t + 8), mv));
        _mm256_storeu_ps(p + t, e0);
        _mm256_storeu_ps(p + t + 8, e1);
        sum += (double)reduce16(e0, e1);
    }
    for (; t < nkv; t++) { float e = expf(p[t] - mx); p[t] = e; sum += (double)e; }
    return sum;
}

AVX2 static void expf_avx2(const float *x, float *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gg_expf8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float bx[8] = {0}, by[8];
        memcpy(bx, x + i, (size_t)(n - i) * 4);
        _mm256_storeu_ps(by, gg_expf8(_mm256_loadu_ps(bx)));
        memcpy(y + i, by, (size_t)(n - i) * 4);
    }
}

// g[i] = silu(g[i]) * u[i]; ggml's vector loop covers multiples of 16, the rest uses the C library's expf.
AVX2 static void silu_mul_avx2(float *g, const float *u, int n) {
    int i = 0;
    const int nv = n & ~15;
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (; i < nv; i += 8) {
        __m256 x = _mm256_loadu_ps(g + i);
        __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, gg_expf8(_mm256_sub_ps(zero, x))));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) { float x = g[i]; float s = x / (1.0f + expf(-x)); g[i] = s * u[i]; }
}

AVX2 static inline __m256 ld16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

// q·k of one position: 4 accumulators × 16 lanes over steps of 64, tree reduction, double tail (ggml_vec_dot_f16).
AVX2 static float dot_f16_decode(const float *q, const uint16_t *k, int hs) {
    const int np = hs & ~63;
    __m256 a[8];
    for (int j = 0; j < 8; j++) a[j] = _mm256_setzero_ps();
    for (int i = 0; i < np; i += 64)
        for (int j = 0; j < 8; j++) a[j] = _mm256_add_ps(a[j], _mm256_mul_ps(_mm256_loadu_ps(q + i + 8 * j), ld16(k + i + 8 * j)));
    // accumulator j = lanes a[2j] (0..7), a[2j+1] (8..15); x0 += x2, x1 += x3, x0 += x1
    __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6]));
    __m256 hi = _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7]));
    double s = (double)reduce16(lo, hi);
    for (int i = np; i < hs; i++) {
        uint16_t h = k[i];
        float kv = _cvtsh_ss(h);
        s += (double)(q[i] * kv);
    }
    return (float)s;
}

// q·k of one position: one 16-lane accumulator over the row, then the tree (tinyBLAS); hs a multiple of 16.
AVX2 static float dot_f16_batch(const float *q, const uint16_t *k, int hs) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int i = 0; i < hs; i += 16) {
        lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_loadu_ps(q + i), ld16(k + i)));
        hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_loadu_ps(q + i + 8), ld16(k + i + 8)));
    }
    return reduce16(lo, hi);
}

AVX2 static inline float round_half(float x) {   // f32 -> nearest f16 (ties to even) -> f32
    return _cvtsh_ss(_cvtss_sh(x, 0));
}

AVX2 static void attn_head_avx2(const float *q, const uint16_t *k, const uint16_t *v, size_t stride, int hs, int valid,
                                int nkv, int batch, float scale, float *scratch, float *out) {
    float *p = scratch;                       // [nkv] scores, then probabilities
    float *part = scratch + ((nkv + 15) & ~15); // [64][hs] (decode) or [16][hs] (batch) partial sums
    const int tiny = batch && hs % 16 == 0;   // tinyBLAS needs k % 16 == 0, else ggml_vec_dot_f16
    float mx = -INFINITY;
    // K and V rows are a stride apart (the other KV heads in between) and usually cold (the weights streamed through
    // the caches since this layer's last step): fetch them a few positions ahead
    // (measured with perf: the loads of these rows stall; 32 positions ahead, and V already during the Q·K loop so
    // that the V product finds it in cache)
    const int pf = 32;
    for (int t = 0; t < valid; t++) {
        if (t + pf < valid) {
            const char *kp = (const char *)(k + (t + pf) * stride), *vp = (const char *)(v + (t + pf) * stride);
            for (int b = 0; b < 2 * hs; b += 64) { _mm_prefetch(kp + b, _MM_HINT_T0); _mm_prefetch(vp + b, _MM_HINT_T0); }
        }
        float s = (tiny ? dot_f16_batch(q, k + t * stride, hs) : dot_f16_decode(q, k + t * stride, hs)) * scale;
        p[t] = s;
        if (s > mx) mx = s;
    }
    for (int t = valid; t < nkv; t++) p[t] = -INFINITY;
    // softmax: exp in 16-lane chunks summed in double (C library expf past the last full chunk)
    const float inv = (float)(1.0 / exp_sum_in_place(p, nkv, mx));
    int t;
    for (t = 0; t < valid; t++) p[t] = round_half(p[t] * inv);

    // V product: partial sums per lane class of the position, vectorized over the head dimension
    const int lanes = batch ? 16 : 64;
    const int np = batch ? valid : (nkv & ~63);   // decode: positions past np go to the double tail
    const int simd_end = valid < np ? valid : np;
    if (simd_end == 0 && !batch) {
        // no position reaches the 64-lane partial sums (decode with nkv = 32): they are all +0, so r = +0 and each
        // output is the double tail alone, here vectorized over the head dimension (same operations per element)
        int d = 0;
        for (; d + 4 <= hs; d += 4) {
            __m256d acc = _mm256_setzero_pd();
            for (int tt = np; tt < valid; tt++) {
                __m128 vv = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(v + tt * stride + d)));
                acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm_mul_ps(_mm_set1_ps(p[tt]), vv)));
            }
            _mm_storeu_ps(out + d, _mm256_cvtpd_ps(acc));
        }
        for (; d < hs; d++) {
            double sd = 0;
            for (int tt = np; tt < valid; tt++) sd += (double)(p[tt] * _cvtsh_ss(v[tt * stride + d]));
            out[d] = (float)sd;
        }
        return;
    }
    memset(part, 0, sizeof(float) * (size_t)lanes * (size_t)hs);
    for (t = 0; t < simd_end; t++) {
        if (t + pf < valid) {
            const char *vp = (const char *)(v + (t + pf) * stride);
            for (int b = 0; b < 2 * hs; b += 64) _mm_prefetch(vp + b, _MM_HINT_T0);
        }
        const __m256 pv = _mm256_set1_ps(p[t]);
        float *row = part + (size_t)(t % lanes) * (size_t)hs;
        const uint16_t *vr = v + t * stride;
        int d = 0;
        for (; d + 8 <= hs; d += 8)
            _mm256_storeu_ps(row + d, _mm256_add_ps(_mm256_loadu_ps(row + d), _mm256_mul_ps(pv, ld16(vr + d))));
        for (; d < hs; d++) row[d] = row[d] + p[t] * _cvtsh_ss(vr[d]);
    }
    int d = 0;
    // the lane reduction (and the decode's double tail) vectorized over the head dimension: the same operations in
    // the same order for every element as the scalar loop below
    for (; d + 8 <= hs; d += 8) {
        __m256 a[16];
        for (int l = 0; l < 16; l++) {
            const float *c = part + d;
            a[l] = batch ? _mm256_loadu_ps(c + l * hs)
                         : _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(c + l * hs), _mm256_loadu_ps(c + (32 + l) * hs)),
                                         _mm256_add_ps(_mm256_loadu_ps(c + (16 + l) * hs), _mm256_loadu_ps(c + (48 + l) * hs)));
        }
        for (int l = 0; l < 8; l++) a[l] = _mm256_add_ps(a[l], a[l + 8]);
        for (int l = 0; l < 4; l++) a[l] = _mm256_add_ps(a[l], a[l + 4]);
        for (int l = 0; l < 2; l++) a[l] = _mm256_add_ps(a[l], a[l + 2]);
        __m256 r = _mm256_add_ps(a[0], a[1]);
        if (batch) { _mm256_storeu_ps(out + d, r); continue; }
        __m256d s0 = _mm256_cvtps_pd(_mm256_castps256_ps128(r)), s1 = _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1));
        for (int tt = np; tt < valid; tt++) {
            __m256 vv = ld16(v + tt * stride + d);
            __m256 pr = _mm256_mul_ps(_mm256_set1_ps(p[tt]), vv);
            s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(pr)));
            s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(pr, 1)));
        }
        _mm_storeu_ps(out + d, _mm256_cvtpd_ps(s0));
        _mm_storeu_ps(out + d + 4, _mm256_cvtpd_ps(s1));
    }
    for (; d < hs; d++) {
        float a[16];
        for (int l = 0; l < 16; l++) {
            const float *c = part + d;
            a[l] = batch ? c[l * hs]
                         : (c[l * hs] + c[(32 + l) * hs]) + (c[(16 + l) * hs] + c[(48 + l) * hs]);
        }
        for (int l = 0; l < 8; l++) a[l] = a[l] + a[l + 8];
        for (int l = 0; l < 4; l++) a[l] = a[l] + a[l + 4];
        for (int l = 0; l < 2; l++) a[l] = a[l] + a[l + 2];
        float r = a[0] + a[1];
        if (batch) { out[d] = r; continue; }
        double sd = (double)r;
        for (int tt = np; tt < valid; tt++) sd += (double)(p[tt] * _cvtsh_ss(v[tt * stride + d]));
        out[d] = (float)sd;
    }
}

// ---- One token's attention split into pool-sized pieces, per KV group (G query heads sharing K/V): scores for a
// range of positions (each K row loaded once for the G heads), the softmax of one head, the V partial sums of a range
// of the 64 lane classes (t mod 64) of ggml_vec_dot_f16's accumulators, and the final reduction of one head. Together
// they compute bitwise what attn_head_avx2 computes for each head with batch = 0: every score, exp, sum and partial
// sum is the same operation on the same operands; only independent values are computed in another order.

// The 8 lanes A (= lo + hi of dot_f16_decode, the first step of reduce16) of one position, hs % 64 == 0, from K
// already converted to f32. q·k of f16 values is exact in f32, so fma(q, k, acc) is ggml's acc + q·k bit for bit.
AVX2 static inline __m256 dot_decode_lanes(const float *q, const float *k, int hs) {
    __m256 a[8];
    for (int j = 0; j < 8; j++) a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + 8 * j), _mm256_loadu_ps(k + 8 * j), _mm256_setzero_ps());
    for (int i = 64; i < hs; i += 64)
        for (int j = 0; j < 8; j++) a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8 * j), _mm256_loadu_ps(k + i + 8 * j), a[j]);
    __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6]));
    __m256 hi = _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7]));
    return _mm256_add_ps(lo, hi);
}

// The rest of reduce16 for 8 positions at once: R_t = ((A_t0+A_t4) + (A_t2+A_t6)) + ((A_t1+A_t5) + (A_t3+A_t7)).
AVX2 static inline __m256 reduce8_transposed(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5,
                                             __m256 a6, __m256 a7) {
    // b: [A_t(0..3) + A_t(4..7) | same for t+1]
    __m256 b0 = _mm256_add_ps(_mm256_permute2f128_ps(a0, a1, 0x20), _mm256_permute2f128_ps(a0, a1, 0x31));
    __m256 b1 = _mm256_add_ps(_mm256_permute2f128_ps(a2, a3, 0x20), _mm256_permute2f128_ps(a2, a3, 0x31));
    __m256 b2 = _mm256_add_ps(_mm256_permute2f128_ps(a4, a5, 0x20), _mm256_permute2f128_ps(a4, a5, 0x31));
    __m256 b3 = _mm256_add_ps(_mm256_permute2f128_ps(a6, a7, 0x20), _mm256_permute2f128_ps(a6, a7, 0x31));
    // c: [c_t0, c_t1, c_t+2,0, c_t+2,1 | t+1, t+3] with c_0 = b_0 + b_2, c_1 = b_1 + b_3
    __m256 c0 = _mm256_add_ps(_mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 2, 3, 2)));
    __m256 c1 = _mm256_add_ps(_mm256_shuffle_ps(b2, b3, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(b2, b3, _MM_SHUFFLE(3, 2, 3, 2)));
    // r: [R0, R2, R4, R6 | R1, R3, R5, R7]
    __m256 r = _mm256_add_ps(_mm256_shuffle_ps(c0, c1, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(c0, c1, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// hs == 64 with q in registers: A of one position (8 products, the tree of dot_f16_decode, lo + hi).
AVX2 static inline __m256 dot64_lanes(const __m256 *qv, const float *k) {
    const __m256 t0 = _mm256_add_ps(_mm256_mul_ps(qv[0], _mm256_loadu_ps(k)), _mm256_mul_ps(qv[4], _mm256_loadu_ps(k + 32)));
    const __m256 t1 = _mm256_add_ps(_mm256_mul_ps(qv[2], _mm256_loadu_ps(k + 16)), _mm256_mul_ps(qv[6], _mm256_loadu_ps(k + 48)));
    const __m256 t2 = _mm256_add_ps(_mm256_mul_ps(qv[1], _mm256_loadu_ps(k + 8)), _mm256_mul_ps(qv[5], _mm256_loadu_ps(k + 40)));
    const __m256 t3 = _mm256_add_ps(_mm256_mul_ps(qv[3], _mm256_loadu_ps(k + 24)), _mm256_mul_ps(qv[7], _mm256_loadu_ps(k + 56)));
    return _mm256_add_ps(_mm256_add_ps(t0, t1), _mm256_add_ps(t2, t3));
}

// Scores of every head for positions [t0, t1): blocks of B positions whose K rows (all KV heads: contiguous memory) are
// converted to f32 in one sequential pass (the next block prefetched meanwhile), then each query head against its
// group's part of the block, 8 positions at a time.
AVX2 static void attn_dec_scores_avx2(const float *q, int heads, int kvh, const uint16_t *k, size_t stride, int hs,
                                     int t0, int t1, float scale, float *s, size_t ss) {
    const int G = heads / kvh, w = kvh * hs;
    if (hs % 64 != 0) {
        for (int h = 0; h < heads; h++)
            for (int t = t0; t < t1; t++)
                s[(size_t)h * ss + t] = dot_f16_decode(q + (size_t)h * hs, k + (size_t)t * stride + (h / G) * hs, hs) * scale;
        return;
    }
    const __m256 sc = _mm256_set1_ps(scale);
    enum { KF = 6144 };
    float kf[KF] __attribute__((aligned(32)));
    int B = (KF / w) & ~7;
    if (B < 8) B = 8;
    float *kb = B * w <= KF ? kf : NULL;
    float *heap = NULL;
    if (!kb) { heap = (float *)_mm_malloc(sizeof(float) * (size_t)B * (size_t)w, 32); kb = heap; }
    for (int b0 = t0; b0 < t1; b0 += B) {
        const int n = t1 - b0 < B ? t1 - b0 : B;
        for (int t = 0; t < n; t++) {
            const char *np = (const char *)(k + (size_t)(b0 + B + t) * stride);
            if (b0 + B + t < t1)
                for (int b = 0; b < 2 * w; b += 64) _mm_prefetch(np + b, _MM_HINT_T0);
            const uint16_t *kr = k + (size_t)(b0 + t) * stride;
            for (int d = 0; d < w; d += 8) _mm256_store_ps(kb + (size_t)t * w + d, ld16(kr + d));
        }
        for (int h = 0; h < heads; h++) {
            const float *qh = q + (size_t)h * (size_t)hs, *kg = kb + (h / G) * hs;
            float *sh = s + (size_t)h * ss + b0;
            int t = 0;
            if (hs == 64) {
                __m256 qv[8];
                for (int j = 0; j < 8; j++) qv[j] = _mm256_loadu_ps(qh + 8 * j);
                for (; t + 8 <= n; t += 8) {
                    const float *kt = kg + (size_t)t * w;
                    __m256 r = reduce8_transposed(dot64_lanes(qv, kt), dot64_lanes(qv, kt + w),
                                                  dot64_lanes(qv, kt + 2 * w), dot64_lanes(qv, kt + 3 * w),
                                                  dot64_lanes(qv, kt + 4 * w), dot64_lanes(qv, kt + 5 * w),
                                                  dot64_lanes(qv, kt + 6 * w), dot64_lanes(qv, kt + 7 * w));
                    _mm256_storeu_ps(sh + t, _mm256_mul_ps(r, sc));   // (float)(double)r is r: no double tail
                }
            } else {
                for (; t + 8 <= n; t += 8) {
                    const float *kt = kg + (size_t)t * w;
                    __m256 r = reduce8_transposed(
                        dot_decode_lanes(qh, kt, hs), dot_decode_lanes(qh, kt + w, hs),
                        dot_decode_lanes(qh, kt + 2 * w, hs), dot_decode_lanes(qh, kt + 3 * w, hs),
                        dot_decode_lanes(qh, kt + 4 * w, hs), dot_decode_lanes(qh, kt + 5 * w, hs),
                        dot_decode_lanes(qh, kt + 6 * w, hs), dot_decode_lanes(qh, kt + 7 * w, hs));
                    _mm256_storeu_ps(sh + t, _mm256_mul_ps(r, sc));
                }
            }
            for (; t < n; t++) sh[t] = dot_f16_decode(qh, k + (size_t)(b0 + t) * stride + (h / G) * hs, hs) * scale;
        }
    }
    if (heap) _mm_free(heap);
}

AVX2 static void attn_dec_softmax_avx2(float *p, int valid, int nkv) {
    const float mx = row_max_avx2(p, valid);
    int t;
    for (t = valid; t < nkv; t++) p[t] = -INFINITY;
    const float inv = (float)(1.0 / exp_sum_in_place(p, nkv, mx));
    const __m256 iv = _mm256_set1_ps(inv);
    for (t = 0; t + 8 <= valid; t += 8)
        _mm256_storeu_ps(p + t, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(p + t), iv), _MM_FROUND_TO_NEAREST_INT)));
    for (; t < valid; t++) p[t] = round_half(p[t] * inv);
}

// part[h][l][d] (h < G, rows of hs floats, 64 per head) for lane classes l in [l0, l1): Σ p_h[t]·v_t[d] over t ≡ l
// (mod 64), t < min(valid, nkv & ~63), in increasing t from +0 (the accumulators of ggml_vec_dot_f16 for element d).
// V rows of lane class l are at vl(l) + m * ms (m = 0, 1, ...: position t = l + 64 m; f16, the KV groups side by side).
AVX2 static void attn_dec_vpart_avx2(const float *p, size_t ps, int heads, int kvh, const uint16_t *v, size_t ls,
                                    size_t ms, int hs, int valid, int nkv, int l0, int l1, float *part) {
    const int np = nkv & ~63, end = valid < np ? valid : np, G = heads / kvh;
    const size_t hp = (size_t)64 * (size_t)hs;
    // lane classes past `end` get no position: their partial sums stay +0, which finish knows (they are not written)
    if (l1 > end) l1 = end;
    for (int l = l0; l < l1; l++) {
        const uint16_t *vl = v + (size_t)(l - l0) * ls;
        for (int g = 0; g < kvh; g++) {
            const uint16_t *vg = vl + (size_t)g * hs;
            const float *pg = p + (size_t)g * G * ps;
            float *partg = part + (size_t)g * G * hp;
            int d = 0;
            if (G == 3) {
                for (; d + 16 <= hs; d += 16) {
                    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
                    const uint16_t *vr = vg + d;
                    for (int t = l; t < end; t += 64, vr += ms) {
                        const __m256 v0 = ld16(vr), v1 = ld16(vr + 8);
                        const __m256 p0 = _mm256_broadcast_ss(pg + t), p1 = _mm256_broadcast_ss(pg + ps + t),
                                     p2 = _mm256_broadcast_ss(pg + 2 * ps + t);
                        // p (rounded to f16) times an f16 value is exact in f32: the FMA is ggml's add of the product
                        a00 = _mm256_fmadd_ps(p0, v0, a00); a01 = _mm256_fmadd_ps(p0, v1, a01);
                        a10 = _mm256_fmadd_ps(p1, v0, a10); a11 = _mm256_fmadd_ps(p1, v1, a11);
                        a20 = _mm256_fmadd_ps(p2, v0, a20); a21 = _mm256_fmadd_ps(p2, v1, a21);
                    }
                    float *r0 = partg + (size_t)l * hs + d, *r1 = r0 + hp, *r2 = r1 + hp;
                    _mm256_storeu_ps(r0, a00); _mm256_storeu_ps(r0 + 8, a01);
                    _mm256_storeu_ps(r1, a10); _mm256_storeu_ps(r1 + 8, a11);
                    _mm256_storeu_ps(r2, a20); _mm256_storeu_ps(r2 + 8, a21);
                }
            }
            for (int h = 0; h < G; h++) {
                const float *ph = pg + (size_t)h * ps;
                float *row = partg + (size_t)h * hp + (size_t)l * hs;
                int e = d;
                for (; e + 8 <= hs; e += 8) {
                    __m256 a = _mm256_setzero_ps();
                    const uint16_t *vr = vg + e;
                    for (int t = l; t < end; t += 64, vr += ms)
                        a = _mm256_fmadd_ps(_mm256_broadcast_ss(ph + t), ld16(vr), a);
                    _mm256_storeu_ps(row + e, a);
                }
                for (; e < hs; e++) {
                    float a = 0;
                    const uint16_t *vr = vg + e;
                    for (int t = l; t < end; t += 64, vr += ms) a = a + ph[t] * _cvtsh_ss(*vr);
                    row[e] = a;
                }
            }
        }
    }
}

// Lane classes l >= nl (= min(64, positions below nkv & ~63)) were never written: their sums are +0. A sum that starts
// at +0 is never -0, so x + (+0) = x for every value here, and reading +0 for them is exact.
#define PART_LANE(c, l) ((l) < nl ? _mm256_loadu_ps((c) + (l) * hs) : _mm256_setzero_ps())
AVX2 static void attn_dec_finish_avx2(const float *part, const float *p, const uint16_t *v, size_t stride, int hs,
                                     int valid, int nkv, float *out) {
    const int np = nkv & ~63, end = valid < np ? valid : np, nl = end < 64 ? end : 64;
    int d = 0;
    for (; d + 8 <= hs; d += 8) {
        __m256 a[16];
        const float *c = part + d;
        if (nl == 64) {
            for (int l = 0; l < 16; l++)
                a[l] = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(c + l * hs), _mm256_loadu_ps(c + (32 + l) * hs)),
                                     _mm256_add_ps(_mm256_loadu_ps(c + (16 + l) * hs), _mm256_loadu_ps(c + (48 + l) * hs)));
        } else {
            for (int l = 0; l < 16; l++)
                a[l] = _mm256_add_ps(_mm256_add_ps(PART_LANE(c, l), PART_LANE(c, 32 + l)),
                                     _mm256_add_ps(PART_LANE(c, 16 + l), PART_LANE(c, 48 + l)));
        }
        for (int l = 0; l < 8; l++) a[l] = _mm256_add_ps(a[l], a[l + 8]);
        for (int l = 0; l < 4; l++) a[l] = _mm256_add_ps(a[l], a[l + 4]);
        for (int l = 0; l < 2; l++) a[l] = _mm256_add_ps(a[l], a[l + 2]);
        __m256 r = _mm256_add_ps(a[0], a[1]);
        __m256d s0 = _mm256_cvtps_pd(_mm256_castps256_ps128(r)), s1 = _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1));
        for (int tt = np; tt < valid; tt++) {
            __m256 vv = ld16(v + (size_t)tt * stride + d);
            __m256 pr = _mm256_mul_ps(_mm256_set1_ps(p[tt]), vv);
            s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(pr)));
            s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(pr, 1)));
        }
        _mm_storeu_ps(out + d, _mm256_cvtpd_ps(s0));
        _mm_storeu_ps(out + d + 4, _mm256_cvtpd_ps(s1));
    }
    for (; d < hs; d++) {
        float a[16];
        const float *c = part + d;
#define PL(l) ((l) < nl ? c[(l) * hs] : 0.0f)
        for (int l = 0; l < 16; l++) a[l] = (PL(l) + PL(32 + l)) + (PL(16 + l) + PL(48 + l));
#undef PL
        for (int l = 0; l < 8; l++) a[l] = a[l] + a[l + 8];
        for (int l = 0; l < 4; l++) a[l] = a[l] + a[l + 4];
        for (int l = 0; l < 2; l++) a[l] = a[l] + a[l + 2];
        double sd = (double)(a[0] + a[1]);
        for (int tt = np; tt < valid; tt++) sd += (double)(p[tt] * _cvtsh_ss(v[(size_t)tt * stride + d]));
        out[d] = (float)sd;
    }
}

// ---- Q4_1 × Q8_1 for a batch: every element exactly as the one-row kernel (ggml_vec_dot_q4_1_q8_1): per block,
// acc += (d_w·d_x) · (8 int32 lanes of Σ w·x over 4 bytes), side += m_w · ds_x; result hsum(acc) + side.
// Tiles of 1 weight row × 4 activation rows share the unpacked weights (1×4 measured fastest here: 60 GFLOP/s a core
// in thread CPU time vs 43 for the one-row kernel; 2×4 and wider tiles spill registers).
AVX2 static inline __m256i q41_nibbles(const uint8_t *qs) {
    __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    b = _mm256_srlv_epi32(b, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}
AVX2 static inline float hsum8(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

#define GG_RT 1
#define GG_CT 4
AVX2 static void gemm_q4_1_tile(const uint8_t *w, size_t rb, int nb, const ck_q8_block *x, int nbx, int nr, int nc,
                               float *y, size_t ldy) {
    __m256 acc[GG_RT][GG_CT];
    __m128 side[GG_RT][GG_CT];   // lane 1: Σ m_w·ds_x in block order (lane 0 unused), as the one-row kernel
    for (int r = 0; r < GG_RT; r++) for (int c = 0; c < GG_CT; c++) { acc[r][c] = _mm256_setzero_ps(); side[r][c] = _mm_setzero_ps(); }
    const __m256i ones = _mm256_set1_epi16(1);
    const uint8_t *wr[GG_RT];
    const ck_q8_block *xr[GG_CT];
    for (int r = 0; r < GG_RT; r++) wr[r] = w + (size_t)(r < nr ? r : 0) * rb;
    for (int c = 0; c < GG_CT; c++) xr[c] = x + (size_t)(c < nc ? c : 0) * (size_t)nbx;
    for (int b = 0; b < nb; b++) {
        __m256i wq[GG_RT];
        __m128 ws[GG_RT];
        for (int r = 0; r < GG_RT; r++) {
            const uint8_t *p = wr[r] + 20 * (size_t)b;
            uint32_t h;
            memcpy(&h, p, 4);
            ws[r] = _mm_cvtph_ps(_mm_cvtsi32_si128((int)h));   // [d_w, m_w, 0, 0]
            wq[r] = q41_nibbles(p + 4);
        }
        for (int c = 0; c < GG_CT; c++) {
            const ck_q8_block *xb = xr[c] + b;
            const __m256i xq = _mm256_loadu_si256((const __m256i *)xb->qs);
            const __m128 xs = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)xb));   // [d_x, ds_x, ...]
            for (int r = 0; r < GG_RT; r++) {
                const __m128 sc = _mm_mul_ps(ws[r], xs);
                __m256i dv = _mm256_madd_epi16(_mm256_maddubs_epi16(wq[r], xq), ones);
                acc[r][c] = _mm256_fmadd_ps(_mm256_broadcastss_ps(sc), _mm256_cvtepi32_ps(dv), acc[r][c]);
                side[r][c] = _mm_add_ps(side[r][c], sc);
            }
        }
    }
    for (int r = 0; r < nr; r++)
        for (int c = 0; c < nc; c++)
            y[(size_t)c * ldy + (size_t)r] = hsum8(acc[r][c]) + _mm_cvtss_f32(_mm_shuffle_ps(side[r][c], side[r][c], 1));
}

AVX2 static void gemm_q4_1_avx2(const uint8_t *w, size_t rb, int cols, const ck_q8_block *x, int n, float *y, size_t ldy,
                               int r0, int r1) {
    const int nb = cols / 32;
    // activation rows in groups of 32 (≤ 48 KB of blocks at 1536 columns) so that they stay in L2 while every weight
    // row of [r0, r1) passes over them
    for (int g = 0; g < n; g += 32) {
        const int ge = n - g < 32 ? n : g + 32;
        for (int r = r0; r < r1; r += GG_RT) {
            const int nr = r1 - r < GG_RT ? r1 - r : GG_RT;
            for (int c = g; c < ge; c += GG_CT) {
                const int nc = ge - c < GG_CT ? ge - c : GG_CT;
                gemm_q4_1_tile(w + (size_t)r * rb, rb, nb, x + (size_t)c * nb, nb, nr, nc, y + (size_t)c * ldy + r, ldy);
            }
        }
    }
}
#endif

int ck_gg_available(void) {
#if defined(__x86_64__)
    return (ck_active_features() & 1) != 0;
#else
    return 0;
#endif
}

#if defined(__x86_64__)
AVX2 static void f32_to_f16_avx2(const float *x, uint16_t *y, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT), 0);
}
#endif

#if defined(__x86_64__)
AVX2 static void round_f16_avx2(float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) x[i] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(x[i]), _MM_FROUND_TO_NEAREST_INT)));
}

// RoPE of `heads` heads of `hd` floats (the first `rd` of each rotated, rd % 16 == 0) with cs/sn[rd/2] of one position,
// with ggml's products: a' = fma(x0, c, -(x1*s)), b' = fma(x0, s, x1*c) (x1*(-s) == -(x1*s) exactly).
AVX2 static void rope_avx2(float *v, int heads, int hd, int rd, const float *cs, const float *sn, int adjacent) {
    int half = rd / 2;
    if (adjacent) {
        for (int h = 0; h < heads; h++) {
            float *b = v + (size_t)h * hd;
            for (int i = 0; i < half; i += 4) {
                __m128 c = _mm_loadu_ps(cs + i), s = _mm_loadu_ps(sn + i), ns = _mm_sub_ps(_mm_setzero_ps(), s);
                __m256 csv = _mm256_set_m128(_mm_unpackhi_ps(c, s), _mm_unpacklo_ps(c, s));      // c0 s0 c1 s1 ...
                __m256 nsc = _mm256_set_m128(_mm_unpackhi_ps(ns, c), _mm_unpacklo_ps(ns, c));    // -s0 c0 -s1 c1 ...
                __m256 x = _mm256_loadu_ps(b + 2 * i);
                __m256 x0 = _mm256_moveldup_ps(x), x1 = _mm256_movehdup_ps(x);
                _mm256_storeu_ps(b + 2 * i, _mm256_fmadd_ps(x0, csv, _mm256_mul_ps(x1, nsc)));
            }
        }
    } else {
        for (int h = 0; h < heads; h++) {
            float *b = v + (size_t)h * hd;
            for (int i = 0; i < half; i += 8) {
                __m256 c = _mm256_loadu_ps(cs + i), s = _mm256_loadu_ps(sn + i);
                __m256 x0 = _mm256_loadu_ps(b + i), x1 = _mm256_loadu_ps(b + i + half);
                __m256 ns = _mm256_sub_ps(_mm256_setzero_ps(), s);
                _mm256_storeu_ps(b + i, _mm256_fmadd_ps(x0, c, _mm256_mul_ps(x1, ns)));
                _mm256_storeu_ps(b + i + half, _mm256_fmadd_ps(x0, s, _mm256_mul_ps(x1, c)));
            }
        }
    }
}
#endif

#if defined(__x86_64__)
AVX2 static void softmax_row_avx2(float *p, int valid, int count) {
    const float mx = row_max_avx2(p, valid);
    int t;
    const __m256 m = _mm256_set1_ps(mx);
    __m256 sv = _mm256_setzero_ps();
    for (t = 0; t + 8 <= valid; t += 8) {
        __m256 e = gg_expf8(_mm256_sub_ps(_mm256_loadu_ps(p + t), m));
        _mm256_storeu_ps(p + t, e);
        sv = _mm256_add_ps(sv, e);
    }
    float sum = hsum8(sv);
    for (; t < valid; t++) { float e = expf(p[t] - mx); p[t] = e; sum += e; }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (t = 0; t + 8 <= valid; t += 8) _mm256_storeu_ps(p + t, _mm256_mul_ps(_mm256_loadu_ps(p + t), inv));
    for (; t < valid; t++) p[t] *= 1.0f / sum;
    for (t = valid; t < count; t++) p[t] = 0;
}
#endif

void ck_gg_softmax_row(float *p, int valid, int count) {
#if defined(__x86_64__)
    softmax_row_avx2(p, valid, count);
#endif
}

void ck_gg_f32_to_f16(const float *x, uint16_t *y, int n) {
#if defined(__x86_64__)
    f32_to_f16_avx2(x, y, n);
#endif
}

void ck_gg_round_f16(float *x, int n) {
#if defined(__x86_64__)
    round_f16_avx2(x, n);
#endif
}

void ck_gg_rope(float *v, int heads, int head_dim, int rope_dim, const float *cs, const float *sn, int adjacent) {
#if defined(__x86_64__)
    rope_avx2(v, heads, head_dim, rope_dim, cs, sn, adjacent);
#endif
}

void ck_gg_expf(const float *x, float *y, int n) {
#if defined(__x86_64__)
    expf_avx2(x, y, n);
#endif
}

void ck_gg_silu_mul(float *g, const float *u, int n) {
#if defined(__x86_64__)
    silu_mul_avx2(g, u, n);
#endif
}

void ck_gg_attn_head(const float *q, const uint16_t *k, const uint16_t *v, size_t stride, int hs, int valid, int nkv,
                     int batch, float scale, float *scratch, float *out) {
#if defined(__x86_64__)
    attn_head_avx2(q, k, v, stride, hs, valid, nkv, batch, scale, scratch, out);
#endif
}

void ck_gg_gemm_q4_1(const void *w, size_t row_bytes, int cols, const ck_q8_block *x, int n, float *y, size_t ldy,
                     int r0, int r1) {
#if defined(__x86_64__)
    gemm_q4_1_avx2((const uint8_t *)w, row_bytes, cols, x, n, y, ldy, r0, r1);
#endif
}


void ck_gg_attn_dec_scores(const float *q, int heads, int kv_heads, const uint16_t *k, size_t stride, int hs, int t0,
                           int t1, float scale, float *s, size_t ss) {
#if defined(__x86_64__)
    attn_dec_scores_avx2(q, heads, kv_heads, k, stride, hs, t0, t1, scale, s, ss);
#endif
}

void ck_gg_attn_dec_softmax(float *p, int valid, int nkv) {
#if defined(__x86_64__)
    attn_dec_softmax_avx2(p, valid, nkv);
#endif
}

void ck_gg_attn_dec_vpart(const float *p, size_t ps, int heads, int kv_heads, const uint16_t *v, size_t stride, int hs,
                          int valid, int nkv, int l0, int l1, float *part, uint16_t *vbuf) {
#if defined(__x86_64__)
    const int np = nkv & ~63, end = valid < np ? valid : np, w = kv_heads * hs;
    if (l1 > end) l1 = end;
    if (l1 <= l0) return;
    const int M = (end - l0 + 63) / 64;   // positions per lane class (at most)
    // (measured on the 2-core EPYC, one layer of SmolLM2 after streaming the weights: reading in place is faster up to
    // ~800 positions, copying first from ~1000 on: 1600 positions 3.1-4.3 ms a token instead of 3.9-5.8)
    if (!vbuf || M < 14) {
        attn_dec_vpart_avx2(p, ps, heads, kv_heads, v + (size_t)l0 * stride, stride, (size_t)64 * stride, hs, valid, nkv,
                            l0, l1, part);
        return;
    }
    // The lane classes' rows are 64 positions apart, which no prefetcher follows: copy them first, reading the cache in
    // order (runs of l1 - l0 whole rows), into vbuf[l - l0][m] (each lane class's rows contiguous), then sum from there.
    for (int m = 0; m < M; m++)
        for (int l = l0; l < l1; l++) {
            const int t = l + 64 * m;
            if (t >= end) break;
            memcpy(vbuf + ((size_t)(l - l0) * M + m) * (size_t)w, v + (size_t)t * stride, sizeof(uint16_t) * (size_t)w);
        }
    attn_dec_vpart_avx2(p, ps, heads, kv_heads, vbuf, (size_t)M * w, (size_t)w, hs, valid, nkv, l0, l1, part);
#endif
}

void ck_gg_attn_dec_finish(const float *part, const float *p, const uint16_t *v, size_t stride, int hs, int valid,
                           int nkv, float *out) {
#if defined(__x86_64__)
    attn_dec_finish_avx2(part, p, v, stride, hs, valid, nkv, out);
#endif
}
