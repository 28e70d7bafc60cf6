import CZenEngine

/// The one door to the GEMM engine, oneDNN: every product of the model goes through here.
/// Everything above this file speaks row-major float32 matrices and never names an engine symbol.
/// Each call runs on the calling thread; `linear` and the attention split their work over the
/// compute threads themselves.
public enum GEMM {
    /// `C = alpha · op(A) · op(B) + beta · C`, all row-major.
    ///
    /// `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, `C` is `[m, n]`. `lda`, `ldb`, `ldc` are the row
    /// strides of the matrices as stored (before transposition), so that callers can pass
    /// sub-blocks of larger buffers, e.g. one attention head's slice of a `[T, H]` projection.
    @inlinable
    public static func sgemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension")
        guard m > 0, n > 0 else { return }
        let status = zen_sgemm(transposeA ? 1 : 0, transposeB ? 1 : 0, Int64(m), Int64(n), Int64(k), alpha,
                               a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        precondition(status == 0, "sgemm [\(m), \(k)] · [\(k), \(n)]: oneDNN status \(status)")
    }

    /// The engine and its version, e.g. "oneDNN 2.6.3".
    public static let engine = String(cString: zen_engine_version())

    /// The instruction set the engine dispatches to on this CPU, e.g. "avx512_core_amx", "avx2".
    public static let isa = String(cString: zen_engine_isa())
}
