/// Counts keyed by a pair of token ids, packed into 64 bits: open addressing with linear probing,
/// so that counting the adjacent pairs of a corpus costs no allocation and no `Hashable` per token.
struct PairCounts: Sendable {
    /// Token ids are non-negative `Int32`s, so no pair packs to this.
    private static let empty = UInt64.max
    private var keys: [UInt64]
    private var values: [Int64]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 12) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [Int64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func key(_ first: Int32, _ second: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: first)) << 32 | UInt64(UInt32(bitPattern: second))
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        let mixed = key &* 0x9E37_79B9_7F4A_7C15   // Fibonacci hashing: the high bits mix every key bit
        return Int(truncatingIfNeeded: mixed >> 32) & mask
    }

    @inline(__always)
    mutating func add(_ key: UInt64, _ amount: Int64 = 1) {
        var slot = Self.slot(key, mask)
        while true {
            let found = keys[slot]
            if found == key {
                values[slot] += amount
                return
            }
            if found == Self.empty { break }
            slot = (slot + 1) & mask
        }
        if (count + 1) * 2 > keys.count {
            grow()
            add(key, amount)
            return
        }
        keys[slot] = key
        values[slot] = amount
        count += 1
    }

    /// The count of `key`, 0 if it was never added.
    @inline(__always)
    func value(_ key: UInt64) -> Int64 {
        var slot = Self.slot(key, mask)
        while true {
            let found = keys[slot]
            if found == key { return values[slot] }
            if found == Self.empty { return 0 }
            slot = (slot + 1) & mask
        }
    }

    /// Every key with its count, in no particular order.
    func forEach(_ body: (_ first: Int32, _ second: Int32, _ count: Int64) -> Void) {
        for slot in keys.indices where keys[slot] != Self.empty {
            body(Int32(truncatingIfNeeded: keys[slot] >> 32), Int32(truncatingIfNeeded: keys[slot]), values[slot])
        }
    }

    private mutating func grow() {
        let (oldKeys, oldValues) = (keys, values)
        keys = [UInt64](repeating: Self.empty, count: oldKeys.count * 2)
        values = [Int64](repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        for slot in oldKeys.indices where oldKeys[slot] != Self.empty {
            var target = Self.slot(oldKeys[slot], mask)
            while keys[target] != Self.empty { target = (target + 1) & mask }
            keys[target] = oldKeys[slot]
            values[target] = oldValues[slot]
        }
    }
}
