import CKernels

/// The fused causal attention of the training pass (C `ck_attn_*` in attention.c: AVX2+FMA register tiles of 6 rows ×
/// 16 columns, scalar C without AVX2). One call handles one query head and one block of query rows [i0, i1) against
/// keys 0..<i1; the keys and values of a KV head are packed once per layer (`packKeys`, `packColumns`).
/// Twin: the sgemm path of Tuning's `TrainingModel` (`fusedAttention = false`, `CMAT_ATTN_FUSED=0`); TuningTests
/// holds the two together, and the AVX2 path to the scalar C path (`FastKernels.allowSIMD(false)`).
public enum FusedAttention {
    /// Floats of `packKeys` / `packColumns` over `rows` rows.
    public static func keyPanelFloats(rows: Int, headDim: Int) -> Int { Int(ck_attn_key_panel_floats(Int32(rows), Int32(headDim))) }
    public static func columnPanelFloats(rows: Int, headDim: Int) -> Int { Int(ck_attn_col_panel_floats(Int32(rows), Int32(headDim))) }
    /// Floats of the scratch of one call over `rows` query rows and `keys` keys.
    public static func scratchFloats(rows: Int, keys: Int) -> Int { Int(ck_attn_scratch_floats(Int32(rows), Int32(keys))) }

    /// Rows 0..<rows of one head (row j at src + j·ld, headDim floats) into panels of 16 keys (for products against them).
    public static func packKeys(_ src: UnsafePointer<Float>, ld: Int, rows: Int, headDim: Int, into dst: UnsafeMutablePointer<Float>) {
        ck_attn_pack_keys(src, ld, Int32(rows), Int32(headDim), dst)
    }
    /// The same rows into panels of 16 columns (for products that sum over the keys).
    public static func packColumns(_ src: UnsafePointer<Float>, ld: Int, rows: Int, headDim: Int, into dst: UnsafeMutablePointer<Float>) {
        ck_attn_pack_cols(src, ld, Int32(rows), Int32(headDim), dst)
    }

    /// out row i = softmax over j ≤ i of (scale · q_i·k_j) times V, lse[i] = the row's log-sum-exp, for i in i0..<i1.
    /// q, out: the head's first element (rows ldq / ldo apart); keys: `packKeys` of K; values: `packColumns` of V over
    /// `packedRows` ≥ i1 rows.
    public static func forward(q: UnsafePointer<Float>, ldq: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                               packedRows: Int, headDim: Int, rows i0: Int, _ i1: Int, scale: Float,
                               out: UnsafeMutablePointer<Float>, ldo: Int, lse: UnsafeMutablePointer<Float>,
                               scratch: UnsafeMutablePointer<Float>) {
        ck_attn_forward(q, ldq, keys, values, Int32(packedRows), Int32(headDim), Int32(i0), Int32(i1), scale, out, ldo, lse, scratch)
    }

    /// The backward of `forward` from dOut: writes dQ rows i0..<i1, adds into dK and dV rows 0..<i1 (rows ldkv apart).
    /// keys: `packKeys` of K, valueKeys: `packKeys` of V, keyColumns: `packColumns` of K (over `packedRows` rows).
    public static func backward(q: UnsafePointer<Float>, ldq: Int, dOut: UnsafePointer<Float>, lddo: Int,
                                keys: UnsafePointer<Float>, valueKeys: UnsafePointer<Float>, keyColumns: UnsafePointer<Float>,
                                packedRows: Int, lse: UnsafePointer<Float>, headDim: Int, rows i0: Int, _ i1: Int, scale: Float,
                                dQ: UnsafeMutablePointer<Float>, lddq: Int, dK: UnsafeMutablePointer<Float>,
                                dV: UnsafeMutablePointer<Float>, ldkv: Int, scratch: UnsafeMutablePointer<Float>) {
        ck_attn_backward(q, ldq, dOut, lddo, keys, valueKeys, keyColumns, Int32(packedRows), lse, Int32(headDim), Int32(i0),
                         Int32(i1), scale, dQ, lddq, dK, dV, ldkv, scratch)
    }
}
