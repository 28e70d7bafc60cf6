import Foundation

/// `transform` over `items` on all cores, results in order; the error of the earliest failing
/// item is rethrown.
func concurrentMap<T: Sendable, R: Sendable>(_ items: [T], _ transform: @escaping @Sendable (T) throws -> R) throws -> [R] {
    let chunkCount = min(items.count, ProcessInfo.processInfo.activeProcessorCount * 4)
    guard chunkCount > 1 else { return try items.map(transform) }
    let chunkSize = (items.count + chunkCount - 1) / chunkCount
    var results = [Result<[R], Error>?](repeating: nil, count: chunkCount)
    results.withUnsafeMutableBufferPointer { slots in
        let slots = UnsafeSendableBuffer(slots)
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            let range = min(items.count, chunk * chunkSize)..<min(items.count, (chunk + 1) * chunkSize)
            slots.buffer[chunk] = Result { try items[range].map(transform) }
        }
    }
    return try results.flatMap { try $0?.get() ?? [] }
}

/// Lets `concurrentPerform` iterations write disjoint slots of one buffer.
struct UnsafeSendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}
