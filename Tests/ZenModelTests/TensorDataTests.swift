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

    @Test func mappedFileErrors() {
        #expect(throws: CheckpointError.self) { try MappedFile(path: "/nonexistent/model.safetensors") }
        #expect(throws: CheckpointError.unreadable(path: "/tmp", reason: "not a regular file")) { try MappedFile(path: "/tmp") }
    }
}
