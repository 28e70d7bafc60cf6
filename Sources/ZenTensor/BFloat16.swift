import CZenKernels

/// A `[out, in]` weight rounded to bfloat16 and packed for the AVX-512 BF16 GEMM: half the
/// memory traffic of float32, products accumulated in float32. Used by `--precision bf16`.
public final class BF16Weight: @unchecked Sendable {
    public let outputs: Int
    public let inputs: Int
    let packed: UnsafeMutablePointer<UInt16>

    public init(_ weight: Tensor) {
        precondition(weight.rank == 2, "BF16Weight: needs a rank-2 weight, got \(weight.shape)")
        (outputs, inputs) = (weight.shape[0], weight.shape[1])
        packed = .allocate(capacity: Int(zen_bf16_packed_size(Int32(outputs), Int32(inputs))) / 2)
        let (n, k) = (Int32(outputs), Int32(inputs))
        let blocks = (outputs + 15) / 16
        let parts = min(blocks, ComputeThreads.count)
        let perPart = (blocks + parts - 1) / parts
        let target = UnsafeSendablePointer(packed)
        weight.withUnsafeBufferPointer { source in
            let source = UnsafeSendablePointer(UnsafeMutablePointer(mutating: source.baseAddress!))
            parallelFor(parts) { part in
                zen_bf16_pack(source.pointer, n, k, target.pointer, Int32(part * perPart), Int32(min(blocks, (part + 1) * perPart)))
            }
        }
    }

    deinit { packed.deallocate() }

    /// Whether the GEMM runs on AVX-512 BF16 here (else on a slow portable loop).
    public static let isAccelerated = zen_has_avx512_bf16() != 0
}

/// `x · Wᵀ + b (+ residual)` with a bfloat16 weight: x rounded to bfloat16 too, float32
/// accumulation and output. Output columns are split over the compute threads in blocks of 32.
public func linear(_ x: Tensor, weight: BF16Weight, bias: Tensor?, residual: Tensor? = nil, portable: Bool = false) -> Tensor {
    precondition(x.rank == 2 && x.shape[1] == weight.inputs, "linear: input \(x.shape) does not fit weight [\(weight.outputs), \(weight.inputs)]")
    let (rows, inputs, outputs) = (x.shape[0], weight.inputs, weight.outputs)
    let pairs = (inputs + 1) / 2
    let rowPairs = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, rows * pairs))
    defer { rowPairs.deallocate() }
    let converted = UnsafeSendablePointer(rowPairs)
    x.withUnsafeBufferPointer { a in
        let a = UnsafeSendablePointer(UnsafeMutablePointer(mutating: a.baseAddress!))
        parallelRanges(rows, grain: 64) { range in
            zen_bf16_convert_rows(a.pointer, Int32(inputs), Int32(inputs), converted.pointer, Int32(range.lowerBound), Int32(range.upperBound))
        }
    }
    let gemm = portable ? zen_bf16_gemm_portable : zen_bf16_gemm
    return projection(rows: rows, inputs: inputs, outputs: outputs, columnAlignment: 32, bias: bias, residual: residual) { columns, y in
        gemm(converted.pointer, Int32(rows), Int32(inputs), weight.packed, Int32(outputs),
             Int32(columns.lowerBound), Int32(columns.upperBound), y, Int32(outputs))
    }
}
