import Foundation
import ZenTensor
import ZenText

/// Element types a checkpoint may store.
public enum DType: String, Sendable, CaseIterable {
    case float32 = "F32", float16 = "F16", bfloat16 = "BF16", int64 = "I64"

    public var byteCount: Int {
        switch self {
        case .float32: return 4
        case .float16, .bfloat16: return 2
        case .int64: return 8
        }
    }
}

/// A read-only file mapped into memory; tensors read from it point into the mapping and keep it alive.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    /// Maps `path`, which must be a regular file. It is opened without blocking, so that a FIFO
    /// (which would wait for a writer forever) is refused like any other file that is not regular.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        if let special = TextFile.specialFileKind(status.st_mode) {
            throw .unreadable(path: path, reason: "it is \(special), not a regular file; a model directory's files must be regular files")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// Lets the kernel drop the pages wholly inside `range` from this process (a tensor now
    /// held converted, or packed, whose file bytes are not read again): otherwise they stay
    /// resident beside the copy. Read again, they come back from the file.
    func release(_ range: UnsafeRawBufferPointer) {
        guard let base = range.baseAddress, range.count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page, end = (Int(bitPattern: base) + range.count) / page * page
        if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED)) }
    }
}

/// One tensor as a checkpoint stores it: a dtype, a shape and its contiguous little-endian bytes,
/// which usually lie inside a `MappedFile` (kept alive by `owner`).
public struct TensorData: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let bytes: UnsafeRawBufferPointer
    public let owner: AnyObject
    /// Whether the reader already found no NaN or infinity in the bytes (in a pass it made anyway).
    let knownFinite: Bool

    public init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        self.init(dtype: dtype, shape: shape, bytes: bytes, owner: owner, knownFinite: false)
    }

    init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, owner: AnyObject, knownFinite: Bool) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.byteCount, "tensor bytes do not match its shape")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.owner = owner
        self.knownFinite = knownFinite
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// Rows `indices` of a rank-2 tensor, widened to float32: an embedding lookup in place.
    func rows(_ indices: [Int32]) -> Tensor {
        precondition(shape.count == 2, "rows: needs a rank-2 tensor, got \(shape)")
        let (entries, width) = (shape[0], shape[1])
        let rowBytes = width * dtype.byteCount
        return Tensor(shape: [indices.count, width]) { output in
            for (row, index) in indices.enumerated() {
                precondition(index >= 0 && Int(index) < entries, "rows: index \(index) outside 0..<\(entries)")
                let start = Int(index) * rowBytes
                TensorData(dtype: dtype, shape: [width], bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<start + rowBytes]),
                           owner: owner, knownFinite: true)
                    .writeFloats(into: UnsafeMutableBufferPointer(rebasing: output[row * width..<(row + 1) * width]))
            }
        }
    }

    /// IEEE half to single, exactly, with integer operations the compiler vectorizes: the
    /// runtime's per-element conversion call made loading a float16 checkpoint take seconds.
    /// (Giesen's "half to float" with the special cases as selects.)
    static func widenHalves(_ source: UnsafeRawBufferPointer, into target: UnsafeMutablePointer<Float>, count: Int) {
        let magic = Float(bitPattern: 113 << 23)
        for i in 0..<count {
            let half = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            let shifted = (half & 0x7FFF) << 13
            let exponent = shifted & 0x0F80_0000
            let normal = shifted &+ ((127 - 15) << 23)
            let infinityOrNaN = normal &+ ((128 - 16) << 23)
            let subnormal = (Float(bitPattern: normal &+ (1 << 23)) - magic).bitPattern
            let magnitude = exponent == 0x0F80_0000 ? infinityOrNaN : (exponent == 0 ? subnormal : normal)
            target[i] = Float(bitPattern: magnitude | ((half & 0x8000) << 16))
        }
    }

    /// The values as float32: float16 and bfloat16 widened exactly, int64 converted.
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: elementCount) { buffer, initialized in
            writeFloats(into: buffer)
            initialized = elementCount
        }
    }

    /// Writes the values as float32 into `target`, which holds `elementCount` floats.
    public func writeFloats(into target: UnsafeMutableBufferPointer<Float>) {
        let count = elementCount
        precondition(target.count >= count, "writeFloats: target too small")
        guard count > 0, let output = target.baseAddress else { return }
        switch dtype {
        case .float32:
            memcpy(output, bytes.baseAddress!, count * 4)
        case .float16:
            Self.widenHalves(bytes, into: output, count: count)
        case .bfloat16:
            for i in 0..<count { output[i] = Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16) }
        case .int64:
            for i in 0..<count { output[i] = Float(bytes.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
        }
    }
}

/// What can be wrong with a checkpoint, naming the file and, where there is one, the tensor.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case missingTensor(name: String, path: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int], path: String)
    case invalidConfig(path: String, reason: String)
    case noWeights(directory: String)
    /// Two stored names of one parameter (`bert.X` and `X`), in name order.
    case ambiguousNames(String, String, parameter: String, path: String)
    /// A NaN or infinity, the first at `element` (row-major) of the tensor stored as `name`.
    case nonFinite(name: String, element: Int, path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .corrupt(let path, let reason): return "\(path) is not a valid checkpoint: \(reason)"
        case .unsupported(let path, let reason): return "\(path): \(reason) is not supported"
        case .missingTensor(let name, let path): return "\(path) has no tensor \(name)"
        case .shapeMismatch(let name, let expected, let found, let path):
            return "\(path): tensor \(name) has shape \(found), but config.json needs \(expected)"
        case .invalidConfig(let path, let reason): return "\(path): \(reason)"
        case .noWeights(let directory): return "\(directory) has neither model.safetensors nor pytorch_model.bin"
        case .ambiguousNames(let first, let second, let parameter, let path):
            return "\(path) holds both \(first) and \(second), two names of the parameter \(parameter); "
                + "either could be meant, so keep only one of them"
        case .nonFinite(let name, let element, let path):
            return "\(path): tensor \(name) holds NaN or infinite values (the first at element \(element)); "
                + "the weights are damaged, or were saved from a training run that diverged"
        }
    }
}

extension TensorData {
    /// The float32 bytes of a tensor, kept alive with it: for writing checkpoints.
    public init(_ tensor: Tensor) {
        let owner = TensorOwner(tensor)
        self.init(dtype: .float32, shape: tensor.shape, bytes: owner.bytes, owner: owner)
    }
}

/// Holds a tensor whose storage a `TensorData` points into.
private final class TensorOwner: @unchecked Sendable {
    let tensor: Tensor
    let bytes: UnsafeRawBufferPointer

    init(_ tensor: Tensor) {
        self.tensor = tensor
        bytes = tensor.withUnsafeBufferPointer { UnsafeRawBufferPointer($0) }
    }
}
