/// Counts keyed by a pair of token ids, packed into 64 bits: open addressing with linear probing,
/// so that counting the adjacent pairs of a corpus costs no allocation and no `Hashable` per token.
/// A key and its count share a slot, so that an update touches one cache line, not two.
struct PairCounts: Sendable {
    private struct Slot {
        var key: UInt64
        var value: Int64
    }
    /// Token ids are non-negative `Int32`s, so no pair packs to this.
    private static let empty = Slot(key: .max, value: 0)
    private var slots: [Slot]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 12) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Slot](repeating: Self.empty, count: size)
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
        if (count + 1) * 2 > slots.count { grow() }
        let mask = mask
        slots.withUnsafeMutableBufferPointer { slots in
            var slot = Self.slot(key, mask)
            while true {
                if slots[slot].key == key {
                    slots[slot].value += amount
                    return
                }
                if slots[slot].key == Self.empty.key {
                    slots[slot] = Slot(key: key, value: amount)
                    count += 1
                    return
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The count of `key`, 0 if it was never added.
    @inline(__always)
    func value(_ key: UInt64) -> Int64 {
        slots.withUnsafeBufferPointer { slots in
            var slot = Self.slot(key, mask)
            while true {
                if slots[slot].key == key { return slots[slot].value }
                if slots[slot].key == Self.empty.key { return 0 }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Every key with its count, in no particular order.
    func forEach(_ body: (_ first: Int32, _ second: Int32, _ count: Int64) -> Void) {
        for slot in slots where slot.key != Self.empty.key {
            body(Int32(truncatingIfNeeded: slot.key >> 32), Int32(truncatingIfNeeded: slot.key), slot.value)
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Self.empty, count: old.count * 2)
        mask = slots.count - 1
        count = 0
        for slot in old where slot.key != Self.empty.key { add(slot.key, slot.value) }
    }
}
