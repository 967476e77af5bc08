#pragma once
#include <stdint.h>
#include <stddef.h>
// SIMD kernels with run-time instruction-set dispatch. Each has a Swift reference twin in Kernels.

// Returns a bitmask of what this CPU supports (1 = AVX2+FMA+F16C, 2 = AVX-512F/BW/VL/VNNI).
int ck_cpu_features(void);
// Restricts dispatch to the levels in `mask` (for tests of every path); returns the mask in effect.
int ck_set_feature_mask(int mask);
// Name of the instruction set used by the kernels now ("avx512vnni", "avx2", "scalar").
const char *ck_isa_name(void);

// ---- thread pool ----
typedef struct ck_pool ck_pool;
typedef void (*ck_task_fn)(void *ctx, int worker, int nworkers);
ck_pool *ck_pool_create(int nthreads);
void ck_pool_destroy(ck_pool *pool);
int ck_pool_threads(const ck_pool *pool);
void ck_pool_set_spin(ck_pool *pool, long spin_ns, long yield_ns);
// Runs fn(ctx, w, n) on every worker w in 0..<n (the caller is worker 0); returns when all are done.
void ck_pool_run(ck_pool *pool, ck_task_fn fn, void *ctx);
// all_workers = 0: fn must pull its work from a shared counter; workers that have not joined by the time the caller's
// fn returns skip the job (a descheduled worker never delays the caller).
void ck_pool_run_mode(ck_pool *pool, ck_task_fn fn, void *ctx, int all_workers);
// The worker index of the calling thread inside a job of `pool` (0 outside: the caller is worker 0).
int ck_pool_current_worker(const ck_pool *pool);
long ck_atomic_fetch_add(long *p, long v);
// Waits (spinning, then yielding) until *p >= target (an acquire load).
void ck_atomic_wait_ge(long *p, long target);

// ---- quantized matrix-vector products ----
// Activations are quantized once per matvec to blocks of 32 int8 with an fp32 scale (Q8-style, round to nearest even),
// plus the integer sums of each half (for the zero-point / min terms of the weight formats).
// d: scale; ds = d * (s0 + s1); s0, s1: sums of qs[0..15] and qs[16..31].
typedef struct { float d; float ds; int16_t s0, s1; int32_t pad; int8_t qs[32]; } ck_q8_block;   // 48 bytes

// ggml type ids (GGMLType raw values).
enum { CK_F32 = 0, CK_F16 = 1, CK_Q4_0 = 2, CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q5_1 = 7, CK_Q8_0 = 8, CK_Q8_1 = 9,
       CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14, CK_BF16 = 30 };

// 1 if ck_vec_dot_rows supports the type.
int ck_supports(int type);
// 1 if the type takes fp32 activations (F32, F16, BF16) rather than quantized ones.
int ck_uses_float_activations(int type);
// x[n] (n a multiple of 32) -> n/32 blocks.
void ck_quantize_q8(const float *x, int n, ck_q8_block *y);
// y[r - r0] = dot(row r, x) for r in [r0, r1); rows start at w + r * row_bytes; cols elements per row.
// xq: quantized activations (quant types); xf: fp32 activations (float types).
void ck_vec_dot_rows(int type, const void *w, size_t row_bytes, int cols, const ck_q8_block *xq, const float *xf,
                     float *y, int r0, int r1);
// Prefetch strategy of the AVX2 row kernels (results are the same bits): 0 row pairs ahead for every row,
// 1 (default) a linear stream for rows of >= 512 bytes, 2 a linear stream for every row. For measurements.
void ck_set_prefetch_mode(int mode);
// Dequantizes n elements of one row.
void ck_dequantize_row(int type, const void *src, float *dst, int n);

// ---- llama.cpp-compatible numerics (owner: llm; ggml_numerics.c). AVX2 only: call when ck_gg_available().
int ck_gg_available(void);
// p[0..<valid] = softmax(p[0..<valid]) in fp32 (ggml's vector exp; not llama.cpp's order: the float prefill path),
// p[valid..<count] = 0.
void ck_gg_softmax_row(float *p, int valid, int count);
// y[i] = f16 bits of x[i], round to nearest even (F16C; as ggml's GGML_FP32_TO_FP16 on x86).
void ck_gg_f32_to_f16(const float *x, uint16_t *y, int n);
// x[i] = x[i] rounded to f16 and back (round to nearest even; F16C).
void ck_gg_round_f16(float *x, int n);
// RoPE of `heads` heads of head_dim floats in place, the first rope_dim (a multiple of 16) of each rotated, with
// cs/sn[rope_dim/2] of one position; adjacent: pairs (2i, 2i+1), else (i, i + rope_dim/2). ggml's FMA contraction.
void ck_gg_rope(float *v, int heads, int head_dim, int rope_dim, const float *cs, const float *sn, int adjacent);
// y[i] = ggml_v_expf(x[i]) (the AVX-512 formula of ggml, lane by lane).
void ck_gg_expf(const float *x, float *y, int n);
// g[i] = silu(g[i]) * u[i] as ggml (vector SiLU for the first n & ~15 values, C expf for the rest).
void ck_gg_silu_mul(float *g, const float *u, int n);
// One attention head: q (hs floats, already rounded to f16) against positions 0..<valid of f16 K/V rows (stride
// elements apart), nkv = llama.cpp's padded KV length (multiple of 32, >= valid); batch = 0: one-token numerics
// (ggml_vec_dot_f16), 1: a batch's (tinyBLAS). scratch: nkv + 16 + 64 * hs floats. out: hs floats.
void ck_gg_attn_head(const float *q, const uint16_t *k, const uint16_t *v, size_t stride, int hs, int valid, int nkv,
                     int batch, float scale, float *scratch, float *out);
// Y[c * ldy + r] = dot(Q4_1 row r, activation row c) for r in [r0, r1), c in [0, n): bitwise what ck_vec_dot_rows
// gives for each activation row (x: n rows of cols/32 blocks with ggml's f16-rounded d and ds).
void ck_gg_gemm_q4_1(const void *w, size_t row_bytes, int cols, const ck_q8_block *x, int n, float *y, size_t ldy,
                     int r0, int r1);
// One token's attention (batch = 0 numerics of ck_gg_attn_head, bitwise) in pieces for a thread pool: `heads` query
// heads in groups of heads/kv_heads sharing a K/V head (q: [heads][hs] rounded to f16; k, v: the layer's cache at
// position 0, rows `stride` elements apart; s/p: [heads] rows of scores `ss` apart, ss >= nkv rounded up to 16):
// s[h][t] = q_h·k_t · scale for t in [t0, t1) (t1 <= valid), every K row loaded once for its group's heads;
void ck_gg_attn_dec_scores(const float *q, int heads, int kv_heads, const uint16_t *k, size_t stride, int hs, int t0,
                           int t1, float scale, float *s, size_t ss);
// one head's scores s[0..<valid] -> f16-rounded probabilities (and s[valid..<nkv] = 0), in place;
void ck_gg_attn_dec_softmax(float *p, int valid, int nkv);
// part[h][l][0..<hs] (64 rows of hs floats per head) for the lane classes l in [l0, l1) of 64 (positions t ≡ l mod 64)
// of ggml_vec_dot_f16's accumulators, every V row loaded once for its group's heads; vbuf (NULL, or room for
// (l1 - l0) * ceil(valid / 64) rows of kv_heads * hs values): for long caches the rows are first copied there in cache order;
void ck_gg_attn_dec_vpart(const float *p, size_t ps, int heads, int kv_heads, const uint16_t *v, size_t stride, int hs,
                          int valid, int nkv, int l0, int l1, float *part, uint16_t *vbuf);
// out[0..<hs] of one head from its 64 part rows and its probabilities p (v: its K/V head's first element).
void ck_gg_attn_dec_finish(const float *part, const float *p, const uint16_t *v, size_t stride, int hs, int valid,
                           int nkv, float *out);

// ---- batched Q4_1 × int8 product of the float prefill path (owner: llm; q4gemm.c) ----
// Not llama.cpp's float order: per block of 32, isum = Σ q·xq (integers), then f = fma(isum, dw·dx, f) and
// f = fma(mw, sx, f) over the blocks in order; the AVX2 and scalar paths give the same bits (Swift twin: Q4Gemm).
// Activations as llama.cpp's Q8_1: row t of x (ldx floats apart, cols a multiple of 32) -> xq[t*cols ..] (int8, round
// to nearest even of x·127/amax), dx[t*nb + b] = amax/127 and sx[t*nb + b] = dx·Σ xq over the block, both rounded to f16
// (nb = cols/32).
void ck_q4g_quantize(const float *x, int n, int cols, size_t ldx, int8_t *xq, float *dx, float *sx);
// Bytes of Q4_1 rows packed into panels of 8 (each block of 32 columns: 256 bytes of u8 weights, dw[8], mw[8]).
size_t ck_q4g_panel_bytes(int rows, int cols);
// Packs Q4_1 rows [r0, r1) (row r at w + r * row_bytes) into `panels` (32-byte aligned, ck_q4g_panel_bytes(r1-r0)).
void ck_q4g_pack(const void *w, size_t row_bytes, int cols, int r0, int r1, void *panels);
// y[t * ldy + r] = row r of the packed rows · activation row t, for r in [0, rows), t in [0, n).
void ck_q4g_gemm(const void *panels, int rows, int cols, const int8_t *xq, const float *dx, const float *sx, int n,
                 float *y, size_t ldy);
// Training backward dX = dY · W (owner: llm; q4gemm.c): W [out, in] fp32 row-major, transposed and requantized
// into q4g panels (rows = in, cols = out, a multiple of 32) with u8 weights 0..qmax (qmax <= 127) and fp32 dw/mw per
// row and block: lo/hi the block's min/max, dw = (hi-lo)/qmax, q = rne((v-lo)*qmax/(hi-lo)) clamped, mw = lo.
void ck_q8t_pack(const float *w, int out, int in, int qmax, void *panels);
// The same packing piece by piece: w holds W's rows 32·b0 ..< 32·b1 (of `out`); writes only those column blocks.
void ck_q8t_pack_blocks(const float *w, int out, int in, int b0, int b1, int qmax, void *panels);
// The same packing of a itself (rows × cols, row-major; cols a multiple of 32): the product is then x · aᵀ.
void ck_q8r_pack(const float *a, int rows, int cols, int qmax, void *panels);
// ck_q4g_quantize with dx and sx kept in fp32 (no f16 rounding: gradients can be far below f16's normal range).
void ck_q8t_quantize(const float *x, int n, int cols, size_t ldx, int8_t *xq, float *dx, float *sx);
// As ck_q4g_gemm over such panels (activations from ck_q8t_quantize); accumulate: y += the product.
void ck_q8t_gemm(const void *panels, int rows, int cols, int qmax, const int8_t *xq, const float *dx, const float *sx,
                 int n, float *y, size_t ldy, int accumulate);
// Float prefill paths: for each of n rows of dim floats, x += y (y may be NULL), out = x / sqrt(mean(x²) + eps) · w,
// the sum of squares in double (4-lane partial sums on AVX2: not llama.cpp's sequential order, which the exact path
// keeps; within fp32 rounding of it).
void ck_add_rmsnorm_rows(float *x, const float *y, int n, int dim, const float *w, float eps, float *out);

// ---- causal attention of the training pass (owner: sft; attention.c) ----
// fp32, one query head and one block of query rows [i0, i1) per call, keys 0..<i1 (causal). AVX2+FMA register tiles
// of 6 rows × 16 columns (scalar loops without AVX2); the keys and values of a KV head are packed once per layer:
// key panels: kp[(j/16)·hd·16 + d·16 + j%16] = k[j·ldk + d] (j < n; zero up to a multiple of 16 keys);
void ck_attn_pack_keys(const float *k, size_t ldk, int n, int hd, float *kp);
// column panels: cp[(d/16)·n·16 + j·16 + d%16] = v[j·ldv + d] (d < hd; zero up to a multiple of 16 columns).
void ck_attn_pack_cols(const float *v, size_t ldv, int n, int hd, float *cp);
// Floats of those packings of n rows, and of the scratch of one call (rows = i1 − i0, keys = i1).
size_t ck_attn_key_panel_floats(int n, int hd);
size_t ck_attn_col_panel_floats(int n, int hd);
size_t ck_attn_scratch_floats(int rows, int keys);
// Forward: out row i (out + i·ldo, hd floats) = softmax_j≤i(scale · q_i·k_j) · v, lse[i] = the row's log-sum-exp,
// for i in [i0, i1). q: the head's row 0 (row i at q + i·ldq); kp: key panels; vp: column panels of nv ≥ i1 rows.
void ck_attn_forward(const float *q, size_t ldq, const float *kp, const float *vp, int nv, int hd, int i0, int i1,
                     float scale, float *out, size_t ldo, float *lse, float *scratch);
// Backward of the same rows from dout (the gradient of out, rows lddo apart), probabilities recomputed from lse:
// writes dq rows [i0, i1) and adds into dk, dv rows 0..<i1 (ldkv apart). kp: K in key panels, vkp: V in key panels,
// kcp: K in column panels of nv rows.
void ck_attn_backward(const float *q, size_t ldq, const float *dout, size_t lddo, const float *kp, const float *vkp,
                      const float *kcp, int nv, const float *lse, int hd, int i0, int i1, float scale, float *dq,
                      size_t lddq, float *dk, float *dv, size_t ldkv, float *scratch);
