/// Reads `pytorch_model.bin` as `torch.save(model.state_dict())` writes it, in either format:
///
/// - the zip format (PyTorch 1.6 and later): `<archive>/data.pkl` is the pickled state dict and each
///   storage is the stored entry `<archive>/data/<key>`;
/// - the legacy format (before 1.6, or `_use_new_zipfile_serialization=False`): pickles one after
///   another (magic number, protocol version, system info, the state dict, the storage keys), then
///   each storage's element count (int64) and bytes, in the order of the keys.
///
/// The file is memory-mapped and every tensor's bytes lie inside the mapping, which they keep alive;
/// nothing is copied, so opening a multi-gigabyte checkpoint costs only its pickle. Each tensor must be
/// contiguous (row-major) and lie inside its storage. Entries of the state dict that are not tensors
/// are skipped: they are not weights.
public enum TorchCheckpoint {
    public static func read(_ path: String) throws(CheckpointError) -> [String: TensorData] {
        let file = try MappedFile(path: path)
        return try read(file.bytes, owner: file, path: path)
    }

    /// Reads the checkpoint in `bytes`, whose tensors keep `owner` alive.
    static func read(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String) throws(CheckpointError) -> [String: TensorData] {
        if ZipArchive.starts(bytes) { return try readZip(bytes, owner: owner, path: path) }
        if bytes.first == 0x80 { return try readLegacy(bytes, owner: owner, path: path) }   // PROTO opens a pickle
        throw .corrupt(path: path, reason: "neither a zip archive nor a pickle")
    }

    private static func readZip(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String)
        throws(CheckpointError) -> [String: TensorData] {
        let archive = try ZipArchive(bytes, path: path)
        // Everything lies in one top folder, named after the file torch.save wrote (`archive` since 2.x).
        let pickles = archive.names.filter { name in
            name == "data.pkl" || (name.hasSuffix("/data.pkl") && !name.dropLast("/data.pkl".count).contains("/"))
        }
        guard pickles.count == 1, let pickleName = pickles.first, let pickle = try archive.contents(of: pickleName)?.bytes else {
            throw .corrupt(path: path, reason: "the zip archive has \(pickles.isEmpty ? "no" : "several") data.pkl")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        if let order = try archive.contents(of: prefix + "byteorder")?.bytes, !order.elementsEqual("little".utf8) {
            throw .unsupported(path: path, reason: "byte order \"\(String(decoding: order, as: UTF8.self))\"")
        }

        let unpickler = Unpickler(pickle, path: path)
        let stateDict = try unpickler.load()
        // Each storage is read (its CRC checked, and whether it holds a NaN or an infinity found in
        // the same pass) once, however many tensors view it.
        var storages: [String: (bytes: UnsafeRawBufferPointer, knownFinite: Bool)] = [:]
        return try tensors(in: stateDict, of: unpickler, owner: owner, path: path) { storage throws(CheckpointError) in
            if let data = storages[storage.key] { return data }
            guard let entry = try archive.contents(of: prefix + "data/" + storage.key, scanning: storage.dtype) else {
                throw .corrupt(path: path, reason: "the zip archive has no entry for storage \(storage.key)")
            }
            let data = (bytes: entry.bytes, knownFinite: !entry.nonFinite)
            storages[storage.key] = data
            return data
        }
    }

    /// `torch.serialization.MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c, as LONG1 writes it.
    private static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    private static let legacyProtocolVersion = 1001

    private static func readLegacy(_ bytes: UnsafeRawBufferPointer, owner: AnyObject, path: String)
        throws(CheckpointError) -> [String: TensorData] {
        let unpickler = Unpickler(bytes, path: path)
        guard case .largeInteger(legacyMagic) = try unpickler.load() else {
            throw .corrupt(path: path, reason: "a pickle without torch's magic number")
        }
        guard case .int(legacyProtocolVersion) = try unpickler.load() else {
            throw .unsupported(path: path, reason: "a legacy serialization protocol other than \(legacyProtocolVersion)")
        }
        guard let systemInfo = unpickler.items(of: try unpickler.load()) else {
            throw .corrupt(path: path, reason: "the system information is not a dict")
        }
        if case .bool(false) = systemInfo["little_endian"] {
            throw .unsupported(path: path, reason: "a checkpoint written on a big-endian machine")
        }
        let stateDict = try unpickler.load()
        guard let keyValues = unpickler.elements(of: try unpickler.load()) else {
            throw .corrupt(path: path, reason: "the storage key list is not a list")
        }

        // The data section gives each storage only its element count, so its element size comes
        // from the persistent ids that named it.
        var types: [String: DType] = [:]
        for storage in unpickler.storages {
            guard types.updateValue(storage.dtype, forKey: storage.key) ?? storage.dtype == storage.dtype else {
                throw .corrupt(path: path, reason: "storage \(storage.key) is named with two element types")
            }
        }
        var storages: [String: UnsafeRawBufferPointer] = [:]
        var position = unpickler.position
        for value in keyValues {
            guard case .string(let key) = value, let dtype = types[key] else {
                throw .corrupt(path: path, reason: "the storage key list names a storage that no tensor uses")
            }
            guard let count = bytes.littleEndian(Int64.self, at: position).flatMap({ Int(exactly: $0) }), count >= 0,
                  case (let length, false) = count.multipliedReportingOverflow(by: dtype.byteCount),
                  length <= bytes.count - position - 8
            else { throw .corrupt(path: path, reason: "the data of storage \(key) is truncated") }
            position += 8
            storages[key] = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
            position += length
        }
        return try tensors(in: stateDict, of: unpickler, owner: owner, path: path) { storage throws(CheckpointError) in
            guard let data = storages[storage.key] else {
                throw .corrupt(path: path, reason: "storage \(storage.key) is missing from the data section")
            }
            return (data, knownFinite: false)      // not scanned here: the weight store scans what it loads
        }
    }

    /// The tensors of the state dict `value`, each checked against its storage's bytes.
    private static func tensors(
        in value: PickleValue, of unpickler: Unpickler, owner: AnyObject, path: String,
        storageBytes: (StorageReference) throws(CheckpointError) -> (bytes: UnsafeRawBufferPointer, knownFinite: Bool)
    ) throws(CheckpointError) -> [String: TensorData] {
        guard let items = unpickler.items(of: value) else {
            throw .unsupported(path: path, reason: "a checkpoint that is not a state dict (a dict of tensors)")
        }
        var tensors: [String: TensorData] = [:]
        for case let (name, .tensor(tensor)) in items {
            func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: "tensor \(name): " + reason) }
            let storage = tensor.storage
            let itemSize = storage.dtype.byteCount
            let source = try storageBytes(storage)
            var data = source.bytes
            guard data.count % itemSize == 0, data.count / itemSize == storage.count else {
                throw corrupt("storage \(storage.key) holds \(data.count) bytes, not \(storage.count) \(storage.dtype) elements")
            }
            if let window = storage.window {
                guard window.upperBound <= storage.count else { throw corrupt("its storage view lies outside storage \(storage.key)") }
                data = UnsafeRawBufferPointer(rebasing: data[(window.lowerBound * itemSize)..<(window.upperBound * itemSize)])
            }
            let range = try elementRange(of: tensor, corrupt: corrupt)
            guard range.upperBound <= data.count / itemSize else {
                throw corrupt("elements \(range) lie outside its storage of \(data.count / itemSize)")
            }
            let bytes = data[(range.lowerBound * itemSize)..<(range.upperBound * itemSize)]
            tensors[name] = TensorData(dtype: storage.dtype, shape: tensor.shape, bytes: UnsafeRawBufferPointer(rebasing: bytes), owner: owner,
                                       knownFinite: source.knownFinite)
        }
        return tensors
    }

    /// The storage elements a tensor covers, which must be contiguous: row-major strides, as torch
    /// defines it (a dimension of size 1 never steps, so its stride is free; an empty tensor always is).
    private static func elementRange(of tensor: TensorReference, corrupt: (String) -> CheckpointError)
        throws(CheckpointError) -> Range<Int> {
        var count = 1
        for size in tensor.shape {
            guard size >= 0, case (let product, false) = count.multipliedReportingOverflow(by: size) else {
                throw corrupt("shape \(tensor.shape) is invalid")
            }
            count = product
        }
        if count > 0 {
            var expected = 1
            for (size, stride) in zip(tensor.shape, tensor.strides).reversed() where size != 1 {
                guard stride == expected else {
                    throw corrupt("strides \(tensor.strides) for shape \(tensor.shape) are not contiguous")
                }
                expected *= size
            }
        }
        guard tensor.offset >= 0, count <= Int.max - tensor.offset else { throw corrupt("storage offset \(tensor.offset) is invalid") }
        return tensor.offset..<(tensor.offset + count)
    }
}
