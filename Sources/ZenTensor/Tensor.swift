import Foundation

/// A dense, row-major float32 array with a shape.
///
/// Storage is shared between copies and copied on write. It is either memory the tensor owns or
/// memory it borrows read-only from an owner that outlives it, such as a memory-mapped checkpoint:
/// float32 weights are used in place, never copied. Writing to a borrowing tensor first copies it.
public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    @usableFromInline var storage: TensorStorage

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
        self.shape = shape
        storage = TensorStorage(count: scalars.count)
        scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.base.update(from: base, count: source.count) }
        }
    }

    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
        storage.base.initialize(repeating: 0, count: storage.count)
    }

    /// A tensor whose scalars are not set: every one must be written before it is read. For
    /// outputs that a kernel overwrites whole, where zeroing first would be a wasted pass.
    public static func uninitialized(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape) { _ in }
    }

    /// A tensor whose scalars `initializer` writes, straight into the new storage.
    public init(shape: [Int], initializingWith initializer: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
        try initializer(UnsafeMutableBufferPointer(start: storage.base, count: storage.count))
    }

    /// A tensor over `count(shape)` floats at `pointer`, which `owner` keeps valid and unchanged.
    public init(shape: [Int], borrowing pointer: UnsafePointer<Float>, owner: AnyObject) {
        self.shape = shape
        storage = TensorStorage(borrowing: pointer, count: shape.reduce(1, *), owner: owner)
    }

    public var rank: Int { shape.count }
    public var count: Int { storage.count }
    /// Whether the scalars live in memory that the tensor borrows (e.g. a mapped checkpoint).
    public var isBorrowed: Bool { storage.owner != nil }

    public var scalars: [Float] { withUnsafeBufferPointer { Array($0) } }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) || storage.owner != nil { storage = storage.copy() }
        return try body(UnsafeMutableBufferPointer(start: storage.base, count: storage.count))
    }

    /// The same scalars under another shape of the same size.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "reshape: \(shape) to \(newShape) changes the size")
        var result = self
        result.shape = newShape
        return result
    }

    public subscript(row: Int, column: Int) -> Float {
        get {
            precondition(rank == 2, "Tensor: 2-D subscript on shape \(shape)")
            return withUnsafeBufferPointer { $0[row * shape[1] + column] }
        }
        set {
            precondition(rank == 2, "Tensor: 2-D subscript on shape \(shape)")
            let index = row * shape[1] + column
            withUnsafeMutableBufferPointer { $0[index] = newValue }
        }
    }

    /// Rows `range` of a rank-2 tensor, copied.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank == 2 && range.upperBound <= shape[0], "rows \(range) of shape \(shape)")
        return withUnsafeBufferPointer { source in
            Tensor(shape: [range.count, shape[1]]) { target in
                if !range.isEmpty {
                    target.baseAddress!.update(from: source.baseAddress! + range.lowerBound * shape[1], count: range.count * shape[1])
                }
            }
        }
    }

    /// The rows of `ranges`, one after another, copied.
    public func rows(_ ranges: [Range<Int>]) -> Tensor {
        precondition(rank == 2, "rows of shape \(shape)")
        let width = shape[1]
        return withUnsafeBufferPointer { source in
            Tensor(shape: [ranges.reduce(0) { $0 + $1.count }, width]) { target in
                var row = 0
                for range in ranges where !range.isEmpty {
                    (target.baseAddress! + row * width).update(from: source.baseAddress! + range.lowerBound * width, count: range.count * width)
                    row += range.count
                }
            }
        }
    }

    /// Row `index` of a rank-2 tensor.
    public func row(_ index: Int) -> [Float] {
        precondition(rank == 2 && index < shape[0], "row \(index) of shape \(shape)")
        return withUnsafeBufferPointer { Array($0[(index * shape[1])..<((index + 1) * shape[1])]) }
    }
}

extension Tensor: Equatable {
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.withUnsafeBufferPointer { a in rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }
}

/// Owned or borrowed float storage; see `Tensor`.
@usableFromInline
final class TensorStorage {
    @usableFromInline let base: UnsafeMutablePointer<Float>
    @usableFromInline let count: Int
    /// The owner of borrowed memory; nil when this storage allocated `base` itself.
    @usableFromInline let owner: AnyObject?

    init(count: Int) {
        base = .allocate(capacity: max(count, 1))
        self.count = count
        owner = nil
    }

    init(borrowing pointer: UnsafePointer<Float>, count: Int, owner: AnyObject) {
        base = UnsafeMutablePointer(mutating: pointer)
        self.count = count
        self.owner = owner
    }

    @usableFromInline func copy() -> TensorStorage {
        let copy = TensorStorage(count: count)
        copy.base.initialize(from: base, count: count)
        return copy
    }

    deinit {
        if owner == nil { base.deallocate() }
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
        withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                result.withUnsafeMutableBufferPointer { c in
                    GEMM.sgemm(transposeA: transposeSelf, transposeB: transposeOther,
                               m: m, n: n, k: k,
                               a: a.baseAddress!, lda: shape[1], b: b.baseAddress!, ldb: other.shape[1],
                               c: c.baseAddress!, ldc: n)
                }
            }
        }
        return result
    }
}
