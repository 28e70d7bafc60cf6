#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// The one door to the platform BLAS: OpenBLAS on Linux, Accelerate on Apple platforms.
/// Everything above this file speaks row-major float32 matrices and never names a BLAS symbol.
public enum BLAS {
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
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasInt(m), blasInt(n), blasInt(k),
            alpha, a, blasInt(lda), b, blasInt(ldb),
            beta, c, blasInt(ldc))
    }

    /// Threads OpenBLAS may use for one call (Accelerate manages its own).
    public static func setThreads(_ threads: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(threads))
        #endif
    }

    @usableFromInline
    static func blasInt(_ value: Int) -> Int32 {
        precondition(value <= Int(Int32.max), "BLAS dimension \(value) exceeds 32-bit range")
        return Int32(value)
    }
}
