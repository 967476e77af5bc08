import CKernels

/// Fast kernels (C with run-time ISA dispatch where available). Twins: `ReferenceKernels`.
public enum FastKernels {
    /// Dequantizes one row.
    public static func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        ReferenceKernels.dequantizeRow(type, src, dst, count: count)
    }

    /// Name of the instruction set the C kernels use on this CPU.
    public static var isa: String { String(cString: ck_isa_name()) }
}
