/// A restricted unpickler for what `torch.save(state_dict)` writes: plain data (ints, floats,
/// strings, tuples, lists, dicts), `collections.OrderedDict`, torch's tensor-rebuilding functions
/// and its storage and dtype names. It never imports or calls anything: each allowed global is an
/// inert `TorchGlobal`, "calling" one only records a `TensorReference`, and every other global or
/// opcode is refused as `.unsupported`, named. Malformed or truncated input is `.corrupt`.
/// (PERSID is among the refused opcodes: its id is a line of text, never torch's storage tuple.)
///
/// Containers live in arenas and values refer to them by index, so values stay flat: sharing
/// through the memo behaves as in Python (a dict filled after it was memoized is the same dict),
/// and no nesting or cycle a hostile pickle builds can make releasing the values recurse.
final class Unpickler {
    private let bytes: UnsafeRawBufferPointer
    private let path: String
    /// Where the next pickle starts: the legacy format puts several one after another.
    private(set) var position: Int

    private var tuples: [[PickleValue]] = []
    private var lists: [[PickleValue]] = []
    private var dicts: [[String: PickleValue]] = []
    /// Every storage a persistent id named, so far: the legacy format needs their element types.
    private(set) var storages: [StorageReference] = []

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var opcodeStart = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String, position: Int = 0) {
        self.bytes = bytes
        self.path = path
        self.position = position
    }

    /// The elements of a tuple or list.
    func elements(of value: PickleValue) -> [PickleValue]? {
        switch value {
        case .tuple(let index): return tuples[index]
        case .list(let index): return lists[index]
        default: return nil
        }
    }

    /// The items of a dict (or OrderedDict).
    func items(of value: PickleValue) -> [String: PickleValue]? {
        guard case .dict(let index) = value else { return nil }
        return dicts[index]
    }

    /// Reads one pickle, up to and including its STOP, and returns its object.
    func load() throws(CheckpointError) -> PickleValue {
        stack = []
        marks = []
        memo = [:]
        while true {
            opcodeStart = position
            let code = try byte()
            guard let opcode = Opcode(rawValue: code) else {
                throw unsupported("the pickle opcode 0x\(String(code, radix: 16)) (at pickle byte \(opcodeStart))")
            }
            switch opcode {
            case .proto:
                let version = try byte()
                guard version <= 5 else { throw unsupported("pickle protocol \(version)") }
            case .frame:
                _ = try integer(UInt64.self)             // a buffering hint: the opcodes simply follow
            case .stop:
                return try pop()

            case .mark: marks.append(stack.count)
            case .none: stack.append(.none)
            case .newTrue: stack.append(.bool(true))
            case .newFalse: stack.append(.bool(false))
            case .binInt: stack.append(.int(Int(Int32(bitPattern: try integer(UInt32.self)))))
            case .binInt1: stack.append(.int(Int(try byte())))
            case .binInt2: stack.append(.int(Int(try integer(UInt16.self))))
            case .long1: stack.append(Self.long(try take(Int(try byte()))))
            case .binFloat: stack.append(.float(Double(bitPattern: try integer(UInt64.self).byteSwapped)))   // big-endian
            case .binUnicode: stack.append(.string(try text(Int(try integer(UInt32.self)))))
            case .shortBinUnicode, .shortBinString: stack.append(.string(try text(Int(try byte()))))
            case .binString:
                let length = Int(Int32(bitPattern: try integer(UInt32.self)))
                guard length >= 0 else { throw corrupt("negative string length") }
                stack.append(.string(try text(length)))

            case .emptyTuple: stack.append(tuple([]))
            case .tuple: stack.append(tuple(try popMark()))
            case .tuple1: stack.append(tuple(try pop(1)))
            case .tuple2: stack.append(tuple(try pop(2)))
            case .tuple3: stack.append(tuple(try pop(3)))
            case .emptyList:
                lists.append([])
                stack.append(.list(lists.count - 1))
            case .emptyDict:
                dicts.append([:])
                stack.append(.dict(dicts.count - 1))
            case .append:
                let value = try pop()
                lists[try listOnTop()].append(value)
            case .appends:
                let values = try popMark()
                lists[try listOnTop()].append(contentsOf: values)
            case .setItem:
                let pair = try pop(2)
                try setItems(pair)
            case .setItems:
                try setItems(try popMark())

            case .binPut: memo[Int(try byte())] = try top()
            case .longBinPut: memo[Int(try integer(UInt32.self))] = try top()
            case .memoize: memo[memo.count] = try top()
            case .binGet: stack.append(try recall(Int(try byte())))
            case .longBinGet: stack.append(try recall(Int(try integer(UInt32.self))))

            case .global:
                let module = try line()
                stack.append(try global(module: module, name: try line()))
            case .stackGlobal:
                let names = try pop(2)
                guard case .string(let module) = names[0], case .string(let name) = names[1] else {
                    throw corrupt("STACK_GLOBAL needs two strings")
                }
                stack.append(try global(module: module, name: name))
            case .binPersistentID:
                let storage = try storage(persistentID: try pop())
                storages.append(storage)
                stack.append(.storage(storage))
            case .reduce:
                let callableAndArguments = try pop(2)
                stack.append(try call(callableAndArguments[0], callableAndArguments[1]))
            case .build:
                _ = try pop()
                // The only object torch gives state is the state dict's OrderedDict (its `_metadata`
                // attribute: module versions), which a reader of weights does not need.
                guard case .dict = try top() else { throw unsupported("BUILD on anything but a dict (at pickle byte \(opcodeStart))") }
            }
        }
    }

    // MARK: Reading bytes

    private func take(_ count: Int) throws(CheckpointError) -> UnsafeRawBufferPointer {
        guard count <= bytes.count - position else { throw corrupt("the pickle is truncated") }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    private func byte() throws(CheckpointError) -> UInt8 {
        try take(1)[0]
    }

    private func integer<T: FixedWidthInteger>(_ type: T.Type) throws(CheckpointError) -> T {
        try take(MemoryLayout<T>.size).littleEndian(T.self, at: 0)!
    }

    private func text(_ count: Int) throws(CheckpointError) -> String {
        guard let text = String(validating: try take(count), as: UTF8.self) else { throw corrupt("a string is not UTF-8") }
        return text
    }

    /// A newline-terminated line, as GLOBAL writes its module and name.
    private func line() throws(CheckpointError) -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw corrupt("the pickle is truncated") }
        let text = try text(end - position)
        position += 1
        return text
    }

    /// LONG1's little-endian two's complement integer: an `Int` when it fits, else its bytes.
    private static func long(_ bytes: UnsafeRawBufferPointer) -> PickleValue {
        guard bytes.count <= 8 else { return .largeInteger(Array(bytes)) }
        var value: UInt64 = 0
        for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * index) }
        let bits = 8 * bytes.count
        if bits > 0, bits < 64, bytes[bytes.count - 1] & 0x80 != 0 { value |= ~0 << bits }
        return .int(Int(Int64(bitPattern: value)))
    }

    // MARK: The stack

    private func top() throws(CheckpointError) -> PickleValue {
        guard stack.count > marks.last ?? 0 else { throw corrupt("stack underflow") }
        return stack[stack.count - 1]
    }

    private func pop() throws(CheckpointError) -> PickleValue {
        let value = try top()
        stack.removeLast()
        return value
    }

    /// The top `count` values, oldest first.
    private func pop(_ count: Int) throws(CheckpointError) -> [PickleValue] {
        guard stack.count - count >= marks.last ?? 0 else { throw corrupt("stack underflow") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    /// The values pushed since the last MARK, which is dropped.
    private func popMark() throws(CheckpointError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw corrupt("no MARK") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func tuple(_ values: [PickleValue]) -> PickleValue {
        tuples.append(values)
        return .tuple(tuples.count - 1)
    }

    private func recall(_ key: Int) throws(CheckpointError) -> PickleValue {
        guard let value = memo[key] else { throw corrupt("memo entry \(key) is unset") }
        return value
    }

    private func listOnTop() throws(CheckpointError) -> Int {
        guard case .list(let index) = try top() else { throw corrupt("APPEND to something not a list") }
        return index
    }

    /// SETITEM(S): key-value pairs into the dict on top of the stack. Only string keys occur in state dicts.
    private func setItems(_ pairs: [PickleValue]) throws(CheckpointError) {
        guard case .dict(let index) = try top(), pairs.count.isMultiple(of: 2) else { throw corrupt("SETITEMS needs a dict and pairs") }
        for pair in stride(from: 0, to: pairs.count, by: 2) {
            guard case .string(let key) = pairs[pair] else {
                throw unsupported("a dict key that is not a string (at pickle byte \(opcodeStart))")
            }
            dicts[index][key] = pairs[pair + 1]
        }
    }

    // MARK: Torch's vocabulary

    private func global(module: String, name: String) throws(CheckpointError) -> PickleValue {
        let qualified = module + "." + name
        guard let known = TorchGlobal.allowed[qualified] else { throw unsupported("the pickle global \(qualified)") }
        return .global(known, name: qualified)
    }

    /// Torch's persistent id for a storage: `('storage', storage type, key, location, element count)`,
    /// plus, in the legacy format, a view `(view key, offset, count)` into the keyed storage, or None.
    /// The location (`'cpu'`, `'cuda:0'`) does not change the bytes, so any is accepted.
    private func storage(persistentID: PickleValue) throws(CheckpointError) -> StorageReference {
        guard let fields = elements(of: persistentID), fields.count == 5 || fields.count == 6,
              case .string("storage") = fields[0] else { throw unsupported("a persistent id that is not a storage") }
        let dtype: DType
        switch fields[1] {
        case .global(.storage(let type), _), .global(.dtype(let type), _): dtype = type
        default: throw corrupt("the storage type of a persistent id is not a storage class")
        }
        guard case .string(let key) = fields[2], case .int(let count) = fields[4], count >= 0 else {
            throw corrupt("malformed storage persistent id")
        }
        var window: Range<Int>?
        switch fields.count == 6 ? fields[5] : .none {
        case .none: break
        case let view:
            guard let view = elements(of: view), view.count == 3, case .int(let offset) = view[1], case .int(let length) = view[2],
                  offset >= 0, length >= 0, length <= Int.max - offset else { throw corrupt("malformed storage view of \(key)") }
            window = offset..<(offset + length)
        }
        return StorageReference(dtype: dtype, key: key, count: count, window: window)
    }

    /// REDUCE: applies one of the allowed globals to its arguments.
    private func call(_ callable: PickleValue, _ argumentTuple: PickleValue) throws(CheckpointError) -> PickleValue {
        guard case .global(let function, let name) = callable else { throw corrupt("REDUCE on something not callable") }
        guard case .tuple(let index) = argumentTuple else { throw corrupt("REDUCE arguments are not a tuple") }
        let arguments = tuples[index]
        switch function {
        case .orderedDict:
            // OrderedDict pickles as OrderedDict() and then SETITEMS.
            guard arguments.isEmpty else { throw unsupported("collections.OrderedDict with initial items") }
            dicts.append([:])
            return .dict(dicts.count - 1)
        case .rebuildTensor, .rebuildTensorV2:
            // (storage, storage offset, size, stride), and for v2: requires_grad, backward hooks and
            // possibly metadata, none of which matter to the weights.
            let arity = function == .rebuildTensor ? 4...4 : 6...7
            guard arity.contains(arguments.count), case .storage(let storage) = arguments[0],
                  case .int(let offset) = arguments[1],
                  let shape = integers(arguments[2]), let strides = integers(arguments[3]), shape.count == strides.count
            else { throw corrupt("malformed arguments to \(name)") }
            return .tensor(TensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter:
            // (tensor, requires_grad, backward hooks): a Parameter is its tensor.
            guard arguments.count == 3, case .tensor = arguments[0] else { throw corrupt("malformed arguments to \(name)") }
            return arguments[0]
        case .storage, .dtype:
            throw unsupported("calling \(name)")
        }
    }

    private func integers(_ value: PickleValue) -> [Int]? {
        guard let values = elements(of: value) else { return nil }
        var integers: [Int] = []
        for case .int(let integer) in values { integers.append(integer) }
        return integers.count == values.count ? integers : nil
    }

    private func corrupt(_ reason: String) -> CheckpointError {
        .corrupt(path: path, reason: "\(reason) (at pickle byte \(opcodeStart))")
    }

    private func unsupported(_ reason: String) -> CheckpointError {
        .unsupported(path: path, reason: reason)
    }
}

/// An unpickled value. Containers are indices into their `Unpickler`'s arenas.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// A LONG1 beyond 64 bits (the legacy format's magic number), as little-endian two's complement.
    case largeInteger([UInt8])
    case float(Double)
    case string(String)
    case tuple(Int)
    case list(Int)
    case dict(Int)
    case global(TorchGlobal, name: String)
    case storage(StorageReference)
    case tensor(TensorReference)
}

/// The globals a state-dict pickle may name; anything else is refused.
enum TorchGlobal: Equatable {
    case orderedDict
    case rebuildTensor, rebuildTensorV2, rebuildParameter
    case storage(DType)
    case dtype(DType)

    static let allowed: [String: TorchGlobal] = [
        "collections.OrderedDict": .orderedDict,
        "torch._utils._rebuild_tensor": .rebuildTensor,
        "torch._utils._rebuild_tensor_v2": .rebuildTensorV2,
        "torch._utils._rebuild_parameter": .rebuildParameter,
        "torch.FloatStorage": .storage(.float32),
        "torch.HalfStorage": .storage(.float16),
        "torch.BFloat16Storage": .storage(.bfloat16),
        "torch.LongStorage": .storage(.int64),
        "torch.float32": .dtype(.float32),
        "torch.float16": .dtype(.float16),
        "torch.bfloat16": .dtype(.bfloat16),
        "torch.int64": .dtype(.int64),
    ]
}

/// A storage as a persistent id names it; the caller finds its bytes by `key`.
struct StorageReference {
    var dtype: DType
    var key: String
    /// Elements in the keyed storage.
    var count: Int
    /// A legacy view: the elements of the keyed storage that this storage is.
    var window: Range<Int>?
}

/// A `_rebuild_tensor` call, not yet checked against its storage.
struct TensorReference {
    var storage: StorageReference
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// The opcodes a state dict's pickle uses, with Python's `pickle` module names, by byte value.
private enum Opcode: UInt8 {
    case mark = 0x28                 // (
    case emptyTuple = 0x29           // )
    case stop = 0x2E                 // .
    case binFloat = 0x47             // G
    case binInt = 0x4A               // J
    case binInt1 = 0x4B              // K
    case binInt2 = 0x4D              // M
    case none = 0x4E                 // N
    case binPersistentID = 0x51      // Q
    case reduce = 0x52               // R
    case binString = 0x54            // T
    case shortBinString = 0x55       // U
    case binUnicode = 0x58           // X
    case emptyList = 0x5D            // ]
    case append = 0x61               // a
    case build = 0x62                // b
    case global = 0x63               // c
    case appends = 0x65              // e
    case binGet = 0x68               // h
    case longBinGet = 0x6A           // j
    case binPut = 0x71               // q
    case longBinPut = 0x72           // r
    case setItem = 0x73              // s
    case tuple = 0x74                // t
    case setItems = 0x75             // u
    case emptyDict = 0x7D            // }
    case proto = 0x80
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case newTrue = 0x88
    case newFalse = 0x89
    case long1 = 0x8A
    case shortBinUnicode = 0x8C
    case stackGlobal = 0x93
    case memoize = 0x94
    case frame = 0x95
}
