import Foundation
import Testing
@testable import ZenModel

@Suite struct TensorDataTests {
    @Test func halfPrecisionWidensExactly() {
        let halves: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001]          // 1, -2, 65504, smallest subnormal
        let brains: [UInt16] = [0x3F80, 0xC040, 0x0000, 0x7F80]          // 1, -3, 0, inf
        let owner = NSObject()
        halves.withUnsafeBytes { bytes in
            #expect(TensorData(dtype: .float16, shape: [4], bytes: bytes, owner: owner).floats() == [1, -2, 65504, Float(Float16(bitPattern: 1))])
        }
        brains.withUnsafeBytes { bytes in
            #expect(TensorData(dtype: .bfloat16, shape: [2, 2], bytes: bytes, owner: owner).floats() == [1, -3, 0, .infinity])
        }
    }

    /// A table read in place gives the rows a widened copy would.
    @Test(arguments: [DType.float16, .bfloat16])
    func rowsAreTheWidenedTablesRows(dtype: DType) {
        let (entries, width) = (5, 3)
        let bits = (0..<(entries * width)).map { UInt16(truncatingIfNeeded: 0x3C00 &+ $0 &* 0x0123) }
        let indices: [Int32] = [4, 0, 4, 2]
        bits.withUnsafeBytes { bytes in
            let table = TensorData(dtype: dtype, shape: [entries, width], bytes: bytes, owner: NSObject())
            let widened = table.floats()
            let rows = table.rows(indices)
            #expect(rows.shape == [indices.count, width])
            #expect(rows.scalars == indices.flatMap { widened[Int($0) * width..<(Int($0) + 1) * width] })
        }
    }

    @Test func everyHalfWidensExactly() {
        let all = (0...UInt16.max).map { $0 }
        let widened = all.withUnsafeBytes { TensorData(dtype: .float16, shape: [all.count], bytes: $0, owner: NSObject()).floats() }
        for (bits, value) in zip(all, widened) {
            let expected = Float(Float16(bitPattern: bits))
            #expect(expected.isNaN ? value.isNaN : value.bitPattern == expected.bitPattern, "half \(bits)")
        }
    }

    @Test func mappedFileErrors() {
        #expect(throws: CheckpointError.self) { try MappedFile(path: "/nonexistent/model.safetensors") }
        #expect(throws: CheckpointError.unreadable(path: "/tmp", reason: "it is a directory, not a regular file; a model directory's files must be regular files")) {
            try MappedFile(path: "/tmp")
        }
    }

    @Test func firstNonFiniteFindsTheFirstInAnyPart() {
        var values = [Float](repeating: 1, count: 50_000)
        #expect(values.withUnsafeBytes { firstNonFinite($0, as: .float32, parts: 3) } == nil)
        for (index, value) in [(0, Float.nan), (16_383, .infinity), (16_384, -.infinity), (33_334, .nan), (49_999, .infinity)] {
            values[index] = value
            values[49_999] = value
            for parts in [1, 2, 3, 7] {
                #expect(values.withUnsafeBytes { firstNonFinite($0, as: .float32, parts: parts) } == index, "\(index) in \(parts) parts")
            }
            values[index] = 1
            values[49_999] = 1
        }
        let extremes: [Float] = [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0]
        #expect(extremes.withUnsafeBytes { firstNonFinite($0, as: .float32) } == nil)
        // Half and bfloat16: the largest finite values pass, infinity and NaN do not.
        for (dtype, finite, special): (DType, [UInt16], [UInt16]) in [(.float16, [0x7BFF, 0xFBFF, 0x0001], [0x7C00, 0xFC00, 0x7E00]),
                                                                    (.bfloat16, [0x7F7F, 0xFF7F, 0x0001], [0x7F80, 0xFF80, 0x7FC0])] {
            #expect(finite.withUnsafeBytes { firstNonFinite($0, as: dtype) } == nil, "\(dtype)")
            for bits in special { #expect((finite + [bits]).withUnsafeBytes { firstNonFinite($0, as: dtype) } == 3, "\(dtype) \(bits)") }
        }
        #expect([Int64(-1)].withUnsafeBytes { firstNonFinite($0, as: .int64) } == nil)
    }

    /// A ZIP entry's CRC pass also tells whether it holds a NaN or infinity: the one pass over the weights.
    @Test func theChecksumPassFindsNonFiniteValues() {
        var values = (0..<300_000).map { Float($0) }
        for parts in [1, 3] {
            #expect(values.withUnsafeBytes { CRC32.checksum($0, scanning: .float32, parts: parts).nonFinite } == false)
        }
        values[299_999] = .nan
        for parts in [1, 3] {
            #expect(values.withUnsafeBytes { CRC32.checksum($0, scanning: .float32, parts: parts).nonFinite } == true)
            #expect(values.withUnsafeBytes { CRC32.checksum($0, parts: parts).nonFinite } == false, "not scanned")
        }
    }
}
