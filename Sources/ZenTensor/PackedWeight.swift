import CZenEngine

/// What a packed weight's products compute in.
public enum WeightFormat: String, Sendable, CaseIterable {
    case fp32, bf16, int8

    var dtype: zen_dtype {
        switch self {
        case .fp32: ZEN_F32
        case .bf16: ZEN_BF16
        case .int8: ZEN_INT8
        }
    }

    /// Whether products in this format run on kernels of their own here (bf16: AMX or AVX-512
    /// BF16); else on float32 kernels over the same rounded values.
    public var isNative: Bool { zen_engine_native(dtype) != 0 }
}

/// A `[out, in]` weight reordered once, at load, into the layout the engine's kernel for this
/// CPU prefers, in `format`: bf16 (products accumulated in float32) or int8 (symmetric per
/// output channel; activations quantized per row at run time, products accumulated in int32).
/// Its output columns are cut into one part per compute thread, each packed on its own, so that
/// every thread streams its own part of the weight.
public final class PackedWeight: @unchecked Sendable {
    public let outputs: Int
    public let inputs: Int
    public let format: WeightFormat
    let parts: [Part]

    /// Output columns and their packed weight (the engine's, immutable once made).
    struct Part: @unchecked Sendable {
        let columns: Range<Int>
        let weight: OpaquePointer
    }

    public init(_ weight: Tensor, format: WeightFormat) {
        precondition(weight.rank == 2, "PackedWeight: needs a rank-2 weight, got \(weight.shape)")
        (outputs, inputs, self.format) = (weight.shape[0], weight.shape[1], format)
        let columns = columnParts(outputs: outputs, alignment: 64, count: ComputeThreads.count)
        var packed = [OpaquePointer?](repeating: nil, count: columns.count)
        let (inputs, dtype) = (inputs, format.dtype)
        packed.withUnsafeMutableBufferPointer { packed in
            let target = UnsafeSendablePointer(packed.baseAddress!)
            weight.withUnsafeBufferPointer { w in
                let w = UnsafeSendablePointer(UnsafeMutablePointer(mutating: w.baseAddress!))
                parallelFor(columns.count) { part in
                    var error: UnsafePointer<CChar>?
                    let made = zen_weight_create(w.pointer + columns[part].lowerBound * inputs, Int64(columns[part].count),
                                                 Int64(inputs), Int64(inputs), dtype, &error)
                    precondition(made != nil, "PackedWeight [\(columns[part].count), \(inputs)] \(format): \(String(cString: error!))")
                    target.pointer[part] = made
                }
            }
        }
        parts = zip(columns, packed).map { Part(columns: $0, weight: $1!) }
    }

    deinit { for part in parts { zen_weight_destroy(part.weight) } }

    /// The kernel the engine chose, e.g. "brg:avx512_core_amx_bf16".
    public var implementation: String { String(cString: zen_weight_implementation(parts[0].weight)) }

    /// Bytes the packed parts occupy.
    public var bytes: Int { parts.reduce(0) { $0 + Int(zen_weight_bytes($1.weight)) } }
}

/// `x · Wᵀ + b (+ residual)` with a packed weight: x converted once to the weight's format
/// (rounded to bf16, or quantized per row to int8), float32 output.
public func linear(_ x: Tensor, weight: PackedWeight, bias: Tensor?, residual: Tensor? = nil) -> Tensor {
    precondition(x.rank == 2 && x.shape[1] == weight.inputs, "linear: input \(x.shape) does not fit weight [\(weight.outputs), \(weight.inputs)]")
    let (rows, inputs, dtype) = (x.shape[0], weight.inputs, weight.format.dtype)
    let bytes = Int(zen_source_bytes(dtype, Int64(rows), Int64(inputs)))
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytes), alignment: 64)
    let rowScales = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rows))
    defer { buffer.deallocate(); rowScales.deallocate() }
    let (scales, parts, outputs) = (UnsafeSendablePointer(rowScales), weight.parts, weight.outputs)
    return x.withUnsafeBufferPointer { a in
        let a = UnsafeSendablePointer(UnsafeMutablePointer(mutating: a.baseAddress!))
        // float32 products read x itself; the other formats a converted copy.
        let source = UnsafeSendablePointer((bytes == 0 ? UnsafeMutableRawPointer(a.pointer) : buffer).assumingMemoryBound(to: UInt8.self))
        if bytes > 0 {
            parallelRanges(rows, grain: 64) { range in
                zen_source_convert(dtype, a.pointer, Int64(inputs), Int64(inputs), source.pointer, scales.pointer,
                                   Int64(range.lowerBound), Int64(range.upperBound))
            }
        }
        return projection(rows: rows, outputs: outputs, parts: parts.map(\.columns),
                          parallel: rows * inputs * outputs >= 1 << 21, bias: bias, residual: residual) { part, y in
            let status = zen_weight_gemm(parts[part].weight, source.pointer, scales.pointer, Int64(rows),
                                         y + parts[part].columns.lowerBound, Int64(outputs))
            precondition(status == 0, "linear [\(rows), \(inputs)] · \(weight.format) [\(outputs), \(inputs)]ᵀ: oneDNN status \(status)")
        }
    }
}
