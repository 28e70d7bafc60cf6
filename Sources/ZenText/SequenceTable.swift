/// Open addressing with linear probing over short sequences of integers (Unicode scalars, token
/// ids). Entries are numbered 0, 1, … in order of insertion, so callers keep their payloads in
/// arrays beside it. The hash is FNV-1a, extended one element at a time, so that a caller walking
/// forward through a sequence hashes each longer key in O(1).
struct SequenceTable<Element: FixedWidthInteger & Sendable>: Sendable {
    private var slots: [Int32]                 // entry number, or -1
    private var mask: Int
    private var hashes: [UInt64] = []
    private var keyOffsets: [Int32] = []
    private var keyLengths: [Int32] = []
    private var keyPool: [Element] = []
    private(set) var longestKey = 0

    var count: Int { hashes.count }

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    static var seed: UInt64 { 0xCBF2_9CE4_8422_2325 }

    @inline(__always)
    static func extend(_ hash: UInt64, with element: Element) -> UInt64 {
        (hash ^ UInt64(truncatingIfNeeded: element)) &* 0x0000_0100_0000_01B3
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<Element>) -> UInt64 {
        var hash = seed
        for element in key { hash = extend(hash, with: element) }
        return hash
    }

    @inline(__always)
    private static func slot(_ hash: UInt64, _ mask: Int) -> Int { Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask }

    /// The entry of `key`, added if it was not there.
    mutating func insert(_ key: UnsafeBufferPointer<Element>, hash: UInt64) -> (entry: Int, inserted: Bool) {
        if let entry = find(key, hash: hash) { return (entry, false) }
        if (count + 1) * 2 > slots.count { grow() }
        var slot = Self.slot(hash, mask)
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(count)
        hashes.append(hash)
        keyOffsets.append(Int32(keyPool.count))
        keyLengths.append(Int32(key.count))
        keyPool.append(contentsOf: key)
        longestKey = max(longestKey, key.count)
        return (count - 1, true)
    }

    /// The key of `entry` and its hash.
    func key(_ entry: Int) -> (key: ArraySlice<Element>, hash: UInt64) {
        let offset = Int(keyOffsets[entry])
        return (keyPool[offset..<(offset + Int(keyLengths[entry]))], hashes[entry])
    }

    /// The entry of `key`, whose hash is `hash`.
    @inline(__always)
    func find(_ key: UnsafeBufferPointer<Element>, hash: UInt64) -> Int? {
        var slot = Self.slot(hash, mask)
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if hashes[entry] == hash, Int(keyLengths[entry]) == key.count {
                let offset = Int(keyOffsets[entry])
                var equal = true
                for i in 0..<key.count where keyPool[offset + i] != key[i] { equal = false; break }
                if equal { return entry }
            }
            slot = (slot + 1) & mask
        }
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: -1, count: slots.count * 2)
        let biggerMask = bigger.count - 1
        for entry in 0..<count {
            var slot = Self.slot(hashes[entry], biggerMask)
            while bigger[slot] >= 0 { slot = (slot + 1) & biggerMask }
            bigger[slot] = Int32(entry)
        }
        slots = bigger
        mask = biggerMask
    }
}
