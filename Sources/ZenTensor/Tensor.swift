/// A dense, row-major float32 array with a shape.
///
/// The tensor core is deliberately small: a value type over contiguous storage, with the
/// operations the model needs expressed as BLAS calls or tight loops. Views and broadcasting are
/// left out on purpose; layers index the storage directly where that is clearer.
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var scalars: [Float]

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var rank: Int { shape.count }
    public var count: Int { scalars.count }

    /// The same scalars under another shape of the same size.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, scalars: scalars)
    }

    public subscript(row: Int, column: Int) -> Float {
        get {
            precondition(rank == 2, "Tensor: 2-D subscript on shape \(shape)")
            return scalars[row * shape[1] + column]
        }
        set {
            precondition(rank == 2, "Tensor: 2-D subscript on shape \(shape)")
            scalars[row * shape[1] + column] = newValue
        }
    }
}

extension Tensor {
    /// Matrix product of two rank-2 tensors, optionally with either operand transposed; this is
    /// how `Linear` layers apply PyTorch's `[out, in]` weights (`x · Wᵀ`) without a copy.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        precondition(rank == 2 && other.rank == 2, "matmul: needs rank-2 operands, got \(shape) and \(other.shape)")
        let (m, k) = transposeSelf ? (shape[1], shape[0]) : (shape[0], shape[1])
        let (k2, n) = transposeOther ? (other.shape[1], other.shape[0]) : (other.shape[0], other.shape[1])
        precondition(k == k2, "matmul: inner dimensions differ (\(shape) x \(other.shape))")
        var result = Tensor(zeros: [m, n])
        scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                result.scalars.withUnsafeMutableBufferPointer { c in
                    guard let a = a.baseAddress, let b = b.baseAddress, let c = c.baseAddress else { return }
                    BLAS.sgemm(transposeA: transposeSelf, transposeB: transposeOther,
                               m: m, n: n, k: k,
                               a: a, lda: shape[1], b: b, ldb: other.shape[1],
                               c: c, ldc: n)
                }
            }
        }
        return result
    }
}
