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
        #expect(throws: CheckpointError.unreadable(path: "/tmp", reason: "not a regular file")) { try MappedFile(path: "/tmp") }
    }
}
