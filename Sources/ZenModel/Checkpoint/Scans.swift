import CZenKernels
import ZenTensor

// The passes of a load that read every byte of the weights: the CRC-32 of each ZIP entry and
// the search for NaN and infinity. On a 668M-parameter checkpoint (2.7 GB) each is about a third
// of a second of CPU, next to a load whose other work is about a second; so both are split over
// the compute threads, and in a ZIP archive they are one pass: each block of an entry is scanned
// right after its CRC brought it into the cache.

package enum CRC32 {
    /// The CRC-32 of `bytes` as ZIP computes it (torch records one for every entry, and checking
    /// it catches a flipped bit or a misplaced entry), computed in C with carry-less
    /// multiplication: a table-driven loop in Swift took 1.5 s for 2.7 GB. With `floats`, also
    /// whether any element of that type is a NaN or an infinity.
    package static func checksum(_ bytes: UnsafeRawBufferPointer, scanning floats: DType? = nil, parts: Int? = nil)
        -> (crc: UInt32, nonFinite: Bool) {
        nonisolated(unsafe) let bytes = bytes
        let results = inParallel(bytes.count, parts: parts) { range in
            var crc: UInt32 = 0
            var nonFinite = false
            for start in stride(from: range.lowerBound, to: range.upperBound, by: blockBytes) {
                let block = UnsafeRawBufferPointer(rebasing: bytes[start..<min(start + blockBytes, range.upperBound)])
                crc = zen_crc32(crc, block.baseAddress!, block.count)
                if let floats, !nonFinite { nonFinite = firstNonFinite(block, as: floats, parts: 1) != nil }
            }
            return (crc: crc, nonFinite: nonFinite, length: range.count)
        }
        let crc = results.dropFirst().reduce(results[0].crc) { zen_crc32_combine($0, $1.crc, $1.length) }
        return (crc, results.contains { $0.nonFinite })
    }

    /// Well inside a core's L2 cache, so that the scan reads what the CRC has just read.
    private static let blockBytes = 1 << 19
}

/// The index of the first element of `bytes`, stored as `dtype`, that is a NaN or an infinity
/// (all exponent bits set), if any. Each part is a branch-free pass over chunks, which the
/// compiler vectorizes, and a search of the one chunk that has one.
func firstNonFinite(_ bytes: UnsafeRawBufferPointer, as dtype: DType, parts: Int? = nil) -> Int? {
    switch dtype {
    case .float32: return firstMatch(bytes, of: UInt32(0x7F80_0000), parts: parts)
    case .float16: return firstMatch(bytes, of: UInt16(0x7C00), parts: parts)
    case .bfloat16: return firstMatch(bytes, of: UInt16(0x7F80), parts: parts)
    case .int64: return nil
    }
}

/// The index of the first element whose bits include all of `mask`. Inlined into each caller,
/// so that it is compiled for its element type: generic, it was five times slower.
@inline(__always)
private func firstMatch<Element: FixedWidthInteger & UnsignedInteger & Sendable>(_ bytes: UnsafeRawBufferPointer, of mask: Element,
                                                                                parts: Int?) -> Int? {
    nonisolated(unsafe) let bytes = bytes
    let size = MemoryLayout<Element>.size
    let found = inParallel(bytes.count / size, parts: parts) { range -> Int? in
        func matches(_ value: Element) -> Bool { value & mask == mask }
        for start in stride(from: range.lowerBound, to: range.upperBound, by: 1 << 14) {
            let chunk = start..<min(start + (1 << 14), range.upperBound)
            let raw = UnsafeRawBufferPointer(rebasing: bytes[(chunk.lowerBound * size)..<(chunk.upperBound * size)])
            // The least of the exponent bits each element lacks: 0 if one has them all. (Phrased
            // as "any matches", the loop became a scalar search for the first match.)
            var least = mask
            if Int(bitPattern: raw.baseAddress) % size == 0 {
                for value in raw.assumingMemoryBound(to: Element.self) { least = min(least, ~value & mask) }
            } else {
                for index in 0..<chunk.count { least = min(least, ~raw.loadUnaligned(fromByteOffset: index * size, as: Element.self) & mask) }
            }
            if least == 0 { return chunk.first { matches(bytes.loadUnaligned(fromByteOffset: $0 * size, as: Element.self)) } }
        }
        return nil
    }
    return found.lazy.compactMap { $0 }.first
}

/// `body` of consecutive ranges that cover `0..<count`, in order: one range per compute thread
/// (or `parts`), computed in parallel, each a multiple of 64 items but the last; a single range
/// below 16 Mi items, where threads cost more than they save.
private func inParallel<T>(_ count: Int, parts: Int?, _ body: @Sendable (Range<Int>) -> T) -> [T] {
    let parts = max(1, min(count, parts ?? (count < 1 << 24 ? 1 : ComputeThreads.count)))
    let size = ((count + parts - 1) / parts + 63) & ~63
    var results = [T?](repeating: nil, count: parts)
    results.withUnsafeMutableBufferPointer { results in
        let output = UnsafeSendablePointer(results.baseAddress!)
        parallelFor(parts) { part in
            output.pointer[part] = body(min(count, part * size)..<min(count, (part + 1) * size))
        }
    }
    return results.map { $0! }
}
