// Causal attention of the training pass (fp32): one query head and one block of query rows per call, forward (with
// the row log-sum-exp saved) and backward (probabilities recomputed from it). Every product runs through one register
// tile of 6 rows × 16 columns (12 AVX2 accumulators, FMA), with the keys and values packed once per layer into
// panels of 16 contiguous floats; tiles entirely above the causal diagonal are skipped. The Swift sgemm path in
// TrainingModel (CMAT_ATTN_FUSED=0) is the reference twin; the scalar loops here are the fallback without AVX2 and
// are held to the AVX2 path by a test.
#include "ckernels.h"
#include "ck_common.h"
#include <math.h>
#include <stddef.h>

int ck_active_features(void);

#define MR 6
#define NR 16

static inline int round16(int n) { return (n + 15) & ~15; }

// Rows of the score scratch are w + 16 floats apart (w = keys rounded up to 16): a stride of a power of two (2 KB for
// 512 keys) maps the rows read in a column walk (the Pᵀ·dO products) to the same two L1 sets.
static inline int score_ld(int keys) { return round16(keys) + 16; }
size_t ck_attn_scratch_floats(int rows, int keys) { return (size_t)2 * rows * score_ld(keys) + rows + 16; }
size_t ck_attn_key_panel_floats(int n, int hd) { return (size_t)round16(n) * hd; }
size_t ck_attn_col_panel_floats(int n, int hd) { return (size_t)n * round16(hd); }

void ck_attn_pack_keys(const float *k, size_t ldk, int n, int hd, float *kp) {
    int np = round16(n) / 16;
    for (int p = 0; p < np; p++) {
        float *dst = kp + (size_t)p * hd * 16;
        for (int jj = 0; jj < 16; jj++) {
            int j = p * 16 + jj;
            if (j < n) {
                const float *src = k + (size_t)j * ldk;
                for (int d = 0; d < hd; d++) dst[d * 16 + jj] = src[d];
            } else {
                for (int d = 0; d < hd; d++) dst[d * 16 + jj] = 0;
            }
        }
    }
}

void ck_attn_pack_cols(const float *v, size_t ldv, int n, int hd, float *vp) {
    int nc = round16(hd) / 16;
    for (int c = 0; c < nc; c++) {
        float *dst = vp + (size_t)c * n * 16;
        int w = hd - c * 16 < 16 ? hd - c * 16 : 16;
        for (int j = 0; j < n; j++) {
            const float *src = v + (size_t)j * ldv + c * 16;
            float *d = dst + (size_t)j * 16;
            int t = 0;
            for (; t < w; t++) d[t] = src[t];
            for (; t < 16; t++) d[t] = 0;
        }
    }
}

// ---------------------------------------------------------------- the register tile
// For each panel p < np: C_p[r][0..<nc] (=|+=) s_r · Σ_{k<kc} A(r, k) · B_p[k][0..<nc] for r < mr, with
// A(r, k) = a[r·ars + k·aks], B_p row k at b + p·bps + k·ldb (16 floats readable unless bmasked: then only nc),
// C_p = c + p·cps (rows ldc apart), s_r = rowscale[r] or alpha. One call walks several panels with the same rows of
// A (the 16-key panels of a score row tile, the 16-column panels of an output row tile).
typedef struct {
    const float *a; ptrdiff_t ars, aks;
    const float *b; ptrdiff_t ldb, bps; int bmasked;
    float *c; ptrdiff_t ldc, cps; int nc, np;
    int kc; float alpha; const float *rowscale; int accumulate;
} tile_args;

static void tile_scalar(int mr, const tile_args *t) {
    for (int p = 0; p < t->np; p++) {
        float acc[MR][NR];
        for (int r = 0; r < mr; r++) for (int j = 0; j < NR; j++) acc[r][j] = 0;
        for (int k = 0; k < t->kc; k++) {
            const float *b = t->b + p * t->bps + k * t->ldb;
            for (int r = 0; r < mr; r++) {
                float a = t->a[r * t->ars + k * t->aks];
                for (int j = 0; j < t->nc; j++) acc[r][j] += a * b[j];
            }
        }
        for (int r = 0; r < mr; r++) {
            float s = t->rowscale ? t->rowscale[r] : t->alpha;
            float *c = t->c + p * t->cps + r * t->ldc;
            for (int j = 0; j < t->nc; j++) c[j] = t->accumulate ? c[j] + acc[r][j] * s : acc[r][j] * s;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256i lane_mask(int n) {   // lanes < n set
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2 static inline __attribute__((always_inline)) void tile_avx2_body(const int mr, const int bmasked, const tile_args *t) {
    const __m256i m0 = lane_mask(t->nc), m1 = lane_mask(t->nc - 8);
    const ptrdiff_t aks = t->aks, ldb = t->ldb;
    __m256 s[MR];
    for (int r = 0; r < mr; r++) s[r] = _mm256_set1_ps(t->rowscale ? t->rowscale[r] : t->alpha);
    for (int p = 0; p < t->np; p++) {
        __m256 c0[MR], c1[MR];
        for (int r = 0; r < mr; r++) { c0[r] = _mm256_setzero_ps(); c1[r] = _mm256_setzero_ps(); }
        const float *b = t->b + p * t->bps;
        // One pointer per row, each advanced on its own (a single pointer stepped row to row chains mr + 1
        // dependent adds per k, as long as the FMAs themselves take).
        const float *ap[MR];
        for (int r = 0; r < mr; r++) ap[r] = t->a + r * t->ars;
        for (int k = t->kc; k > 0; k--) {
            __m256 b0, b1;
            if (bmasked) { b0 = _mm256_maskload_ps(b, m0); b1 = _mm256_maskload_ps(b + 8, m1); }
            else { b0 = _mm256_loadu_ps(b); b1 = _mm256_loadu_ps(b + 8); }
            for (int r = 0; r < mr; r++) {
                __m256 av = _mm256_broadcast_ss(ap[r]);
                c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
                c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
                ap[r] += aks;
            }
            b += ldb;
        }
        float *cp = t->c + p * t->cps;
        for (int r = 0; r < mr; r++) {
            float *c = cp + r * t->ldc;
            __m256 v0 = _mm256_mul_ps(c0[r], s[r]), v1 = _mm256_mul_ps(c1[r], s[r]);
            if (t->nc == 16) {
                if (t->accumulate) { v0 = _mm256_add_ps(_mm256_loadu_ps(c), v0); v1 = _mm256_add_ps(_mm256_loadu_ps(c + 8), v1); }
                _mm256_storeu_ps(c, v0); _mm256_storeu_ps(c + 8, v1);
            } else {
                if (t->accumulate) {
                    v0 = _mm256_add_ps(_mm256_maskload_ps(c, m0), v0); v1 = _mm256_add_ps(_mm256_maskload_ps(c + 8, m1), v1);
                }
                _mm256_maskstore_ps(c, m0, v0); _mm256_maskstore_ps(c + 8, m1, v1);
            }
        }
    }
}

#define TILE_FN(MRV, BM) AVX2 static void tile_avx2_##MRV##_##BM(const tile_args *t) { tile_avx2_body(MRV, BM, t); }
TILE_FN(1, 0) TILE_FN(2, 0) TILE_FN(3, 0) TILE_FN(4, 0) TILE_FN(5, 0) TILE_FN(6, 0)
TILE_FN(1, 1) TILE_FN(2, 1) TILE_FN(3, 1) TILE_FN(4, 1) TILE_FN(5, 1) TILE_FN(6, 1)
static void (*const tile_avx2_fns[2][MR + 1])(const tile_args *) = {
    { 0, tile_avx2_1_0, tile_avx2_2_0, tile_avx2_3_0, tile_avx2_4_0, tile_avx2_5_0, tile_avx2_6_0 },
    { 0, tile_avx2_1_1, tile_avx2_2_1, tile_avx2_3_1, tile_avx2_4_1, tile_avx2_5_1, tile_avx2_6_1 },
};

// VectorOps.fastExp on 8 lanes (its polynomial, evaluated with FMA: within an ulp or two of it).
AVX2 static inline __m256 exp8(__m256 x) {
    __m256 t = _mm256_mul_ps(_mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.f)), _mm256_set1_ps(88.f)),
                             _mm256_set1_ps(1.44269504f));
    __m256 big = _mm256_add_ps(t, _mm256_set1_ps(12582912.f));
    __m256 n = _mm256_sub_ps(big, _mm256_set1_ps(12582912.f));
    __m256 f = _mm256_sub_ps(t, n);
    __m256 p = _mm256_set1_ps(1.5403530e-4f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.6181291e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.5504109e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.4022651e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.9314718e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f));
    __m256i nb = _mm256_sub_epi32(_mm256_castps_si256(big), _mm256_set1_epi32(0x4B400000));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(nb, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
AVX2 static inline float hsum8(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}
AVX2 static inline float hmax8(__m256 v) {
    __m128 lo = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_max_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}
#endif

// Scalar twin of exp8 (Ops.fastExp).
static inline float exp1(float x) {
    float t = fminf(fmaxf(x, -87.f), 88.f) * 1.44269504f;
    float big = t + 12582912.f;   // round to nearest (1.5·2^23 trick; no fast-math here, so it is not folded)
    float n = big - 12582912.f;
    float f = t - n;
    float p = 1.5403530e-4f;
    p = p * f + 1.3333558e-3f;
    p = p * f + 9.6181291e-3f;
    p = p * f + 5.5504109e-2f;
    p = p * f + 2.4022651e-1f;
    p = p * f + 6.9314718e-1f;
    p = p * f + 1.f;
    int32_t bi;
    memcpy(&bi, &big, 4);
    int32_t e = ((bi - 0x4B400000) + 127) << 23;
    float ef;
    memcpy(&ef, &e, 4);
    return p * ef;
}

// ---------------------------------------------------------------- row operations (AVX2 and scalar)
// row[0..<n] = exp(row - max) (unnormalized softmax), row[n..<w] = 0; returns the sum, *mx the max.
static float softmax_row_scalar(float *row, int n, int w, float *mx) {
    float m = -INFINITY, s = 0;
    for (int j = 0; j < n; j++) m = row[j] > m ? row[j] : m;
    for (int j = 0; j < n; j++) { row[j] = exp1(row[j] - m); s += row[j]; }
    for (int j = n; j < w; j++) row[j] = 0;
    *mx = m;
    return s;
}
// row[0..<n] = exp(row - shift), row[n..<w] = 0.
static void exp_row_scalar(float *row, int n, int w, float shift) {
    for (int j = 0; j < n; j++) row[j] = exp1(row[j] - shift);
    for (int j = n; j < w; j++) row[j] = 0;
}
// d[0..<n] = p·(d − Σ p·d)·scale, d[n..<w] = 0.
static void dsoftmax_row_scalar(const float *p, float *d, int n, int w, float scale) {
    float dt = 0;
    for (int j = 0; j < n; j++) dt += p[j] * d[j];
    for (int j = 0; j < n; j++) d[j] = p[j] * (d[j] - dt) * scale;
    for (int j = n; j < w; j++) d[j] = 0;
}

#if defined(__x86_64__) || defined(__i386__)
AVX2 static float softmax_row_avx2(float *row, int n, int w, float *mx) {
    int j = 0;
    float m = -INFINITY;
    if (n >= 8) {
        __m256 acc = _mm256_loadu_ps(row);
        for (j = 8; j + 8 <= n; j += 8) acc = _mm256_max_ps(acc, _mm256_loadu_ps(row + j));
        m = hmax8(acc);
    }
    for (; j < n; j++) m = row[j] > m ? row[j] : m;
    __m256 sv = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
    for (j = 0; j + 8 <= n; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), sv));
        _mm256_storeu_ps(row + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    float s = hsum8(acc);
    for (; j < n; j++) { row[j] = exp1(row[j] - m); s += row[j]; }
    for (j = n; j < w; j++) row[j] = 0;
    *mx = m;
    return s;
}
AVX2 static void exp_row_avx2(float *row, int n, int w, float shift) {
    __m256 sv = _mm256_set1_ps(shift);
    int j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(row + j, exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), sv)));
    for (; j < n; j++) row[j] = exp1(row[j] - shift);
    for (j = n; j < w; j++) row[j] = 0;
}
AVX2 static void dsoftmax_row_avx2(const float *p, float *d, int n, int w, float scale) {
    __m256 acc = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= n; j += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + j), _mm256_loadu_ps(d + j), acc);
    float dt = hsum8(acc);
    for (; j < n; j++) dt += p[j] * d[j];
    __m256 dv = _mm256_set1_ps(dt), sc = _mm256_set1_ps(scale);
    for (j = 0; j + 8 <= n; j += 8) {
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(p + j), _mm256_sub_ps(_mm256_loadu_ps(d + j), dv)), sc);
        _mm256_storeu_ps(d + j, v);
    }
    for (; j < n; j++) d[j] = p[j] * (d[j] - dt) * scale;
    for (j = n; j < w; j++) d[j] = 0;
}
#endif

typedef struct {
    void (*tile)(int mr, const tile_args *t);
    float (*softmax_row)(float *row, int n, int w, float *mx);
    void (*exp_row)(float *row, int n, int w, float shift);
    void (*dsoftmax_row)(const float *p, float *d, int n, int w, float scale);
} attn_ops;

#if defined(__x86_64__) || defined(__i386__)
static void tile_avx2(int mr, const tile_args *t) { tile_avx2_fns[t->bmasked ? 1 : 0][mr](t); }
static const attn_ops ops_avx2 = { tile_avx2, softmax_row_avx2, exp_row_avx2, dsoftmax_row_avx2 };
#endif
static const attn_ops ops_scalar = { tile_scalar, softmax_row_scalar, exp_row_scalar, dsoftmax_row_scalar };

static const attn_ops *active_ops(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (ck_active_features() & 1) return &ops_avx2;
#endif
    return &ops_scalar;
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

// S[r][0..<w] (row r at s + r·ld) = alpha · A rows i0+r (a + (i0+r)·lda, hd floats) · keys in panels kp: per tile
// of 6 rows one call over the 16-key panels that reach the tile's last diagonal element (the rest of the row is
// left undefined).
static void scores(const attn_ops *o, const float *a, size_t lda, const float *kp, int hd, int i0, int i1, float alpha,
                   float *s, int ld) {
    int nb = i1 - i0;
    tile_args t = { .ars = (ptrdiff_t)lda, .aks = 1, .b = kp, .ldb = 16, .bps = (ptrdiff_t)hd * 16, .bmasked = 0,
                    .ldc = ld, .cps = 16, .nc = 16, .kc = hd, .alpha = alpha, .rowscale = 0, .accumulate = 0 };
    for (int r0 = 0; r0 < nb; r0 += MR) {
        int mr = imin(MR, nb - r0);
        t.a = a + (size_t)(i0 + r0) * lda;
        t.c = s + (size_t)r0 * ld;
        t.np = (i0 + r0 + mr + 15) / 16;
        o->tile(mr, &t);
    }
}

// Calls `t` (with a, b, c, kc set for column 0) over the column panels of hd columns: the full ones in one call,
// a partial last one (hd not a multiple of 16) in another with nc < 16 (bmasked when B is not padded).
static void column_panels(const attn_ops *o, int mr, tile_args t, int hd, int b_padded) {
    int full = hd / 16, rest = hd % 16;
    if (full > 0) { t.np = full; t.nc = 16; t.bmasked = 0; o->tile(mr, &t); }
    if (rest > 0) {
        t.b += full * t.bps; t.c += full * t.cps;
        t.np = 1; t.nc = rest; t.bmasked = !b_padded;
        o->tile(mr, &t);
    }
}

// C rows i0+r (c + (i0+r)·ldc, hd floats) (=) rowscale_r · Σ_{k ≤ i0+r} S[r][k] · B[k] with B in column panels bp
// (S zero past each row's diagonal up to its tile's last row).
static void rows_times_cols(const attn_ops *o, const float *s, int ld, const float *bp, int nv, int hd, int i0, int i1,
                            const float *rowscale, float *c, size_t ldc) {
    int nb = i1 - i0;
    tile_args t = { .ars = ld, .aks = 1, .ldb = 16, .bps = (ptrdiff_t)nv * 16, .ldc = (ptrdiff_t)ldc, .cps = 16,
                    .alpha = 1, .accumulate = 0 };
    for (int r0 = 0; r0 < nb; r0 += MR) {
        int mr = imin(MR, nb - r0);
        t.a = s + (size_t)r0 * ld;
        t.b = bp;
        t.kc = i0 + r0 + mr;   // keys past a row's diagonal are zero in S
        t.rowscale = rowscale ? rowscale + r0 : 0;
        t.c = c + (size_t)(i0 + r0) * ldc;
        column_panels(o, mr, t, hd, 1);
    }
}

// D rows k < i1 (d + k·ldd, hd floats) += Σ_{i0 ≤ m < i1} S[m − i0][k] · B row m (b + m·ldb, hd floats)
// (S zero past each row's diagonal up to i1).
static void cols_times_rows(const attn_ops *o, const float *s, int ld, const float *b, size_t ldb, int hd, int i0,
                            int i1, float *d, size_t ldd) {
    tile_args t = { .ars = 1, .aks = ld, .ldb = (ptrdiff_t)ldb, .bps = 16, .ldc = (ptrdiff_t)ldd, .cps = 16,
                    .alpha = 1, .rowscale = 0, .accumulate = 1 };
    for (int k0 = 0; k0 < i1; k0 += MR) {
        int mr = imin(MR, i1 - k0);
        int m0 = imax(i0, k0);   // rows before key k0 do not see it (zeros)
        t.a = s + (size_t)(m0 - i0) * ld + k0;
        t.b = b + (size_t)m0 * ldb;
        t.kc = i1 - m0;
        t.c = d + (size_t)k0 * ldd;
        column_panels(o, mr, t, hd, 0);
    }
}

void ck_attn_forward(const float *q, size_t ldq, const float *kp, const float *vp, int nv, int hd, int i0, int i1,
                     float scale, float *out, size_t ldo, float *lse, float *scratch) {
    const attn_ops *o = active_ops();
    int nb = i1 - i0, w = round16(i1), ld = score_ld(i1);
    float *s = scratch, *inv = scratch + (size_t)nb * ld;
    scores(o, q, ldq, kp, hd, i0, i1, scale, s, ld);
    for (int r = 0; r < nb; r++) {
        float mx, sum = o->softmax_row(s + (size_t)r * ld, i0 + r + 1, w, &mx);
        inv[r] = 1 / sum;
        lse[i0 + r] = mx + logf(sum);
    }
    rows_times_cols(o, s, ld, vp, nv, hd, i0, i1, inv, out, ldo);
}

void ck_attn_backward(const float *q, size_t ldq, const float *dout, size_t lddo, const float *kp, const float *vkp,
                      const float *kcp, int nv, const float *lse, int hd, int i0, int i1, float scale, float *dq,
                      size_t lddq, float *dk, float *dv, size_t ldkv, float *scratch) {
    const attn_ops *o = active_ops();
    int nb = i1 - i0, w = round16(i1), ld = score_ld(i1);
    float *p = scratch, *dp = scratch + (size_t)nb * ld;
    scores(o, q, ldq, kp, hd, i0, i1, scale, p, ld);
    for (int r = 0; r < nb; r++) o->exp_row(p + (size_t)r * ld, i0 + r + 1, w, lse[i0 + r]);
    scores(o, dout, lddo, vkp, hd, i0, i1, 1, dp, ld);             // dP = dO Vᵀ
    cols_times_rows(o, p, ld, dout, lddo, hd, i0, i1, dv, ldkv);        // dV += Pᵀ dO
    for (int r = 0; r < nb; r++) o->dsoftmax_row(p + (size_t)r * ld, dp + (size_t)r * ld, i0 + r + 1, w, scale);
    rows_times_cols(o, dp, ld, kcp, nv, hd, i0, i1, 0, dq, lddq);      // dQ = dS K
    cols_times_rows(o, dp, ld, q, ldq, hd, i0, i1, dk, ldkv);           // dK += dSᵀ Q
}
