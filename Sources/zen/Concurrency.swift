import ZenTensor

/// `transform` over `items` on the compute threads, results in order; the error of the earliest
/// failing item is rethrown. Items go in chunks, four per thread, so that uneven items balance.
func concurrentMap<T: Sendable, R: Sendable>(_ items: [T], _ transform: @escaping @Sendable (T) throws -> R) throws -> [R] {
    let chunkCount = min(items.count, ComputeThreads.count * 4)
    guard chunkCount > 1 else { return try items.map(transform) }
    let chunkSize = (items.count + chunkCount - 1) / chunkCount
    var results = [Result<[R], Error>?](repeating: nil, count: chunkCount)
    results.withUnsafeMutableBufferPointer { slots in
        let slots = UnsafeSendablePointer(slots.baseAddress!)
        parallelFor(chunkCount) { chunk in
            let range = min(items.count, chunk * chunkSize)..<min(items.count, (chunk + 1) * chunkSize)
            slots.pointer[chunk] = Result { try items[range].map(transform) }
        }
    }
    return try results.flatMap { try $0?.get() ?? [] }
}
