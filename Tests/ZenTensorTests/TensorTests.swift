import Foundation
import Testing
@testable import ZenTensor

@Suite struct TensorTests {
    /// The textbook triple loop, the yardstick for every BLAS-backed product.
    func naiveProduct(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { c[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        return c
    }

    func transpose(_ x: [Float], rows: Int, columns: Int) -> [Float] {
        var t = [Float](repeating: 0, count: x.count)
        for r in 0..<rows { for c in 0..<columns { t[c * rows + r] = x[r * columns + c] } }
        return t
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmulMatchesNaiveProduct(transposeA: Bool, transposeB: Bool) {
        let (m, k, n) = (5, 7, 3)
        var generator = SplitMix64(seed: 42)
        let a = (0..<(m * k)).map { _ in generator.nextFloat() }
        let b = (0..<(k * n)).map { _ in generator.nextFloat() }
        let expected = naiveProduct(a, b, m: m, k: k, n: n)

        let lhs = transposeA ? Tensor(shape: [k, m], scalars: transpose(a, rows: m, columns: k))
                             : Tensor(shape: [m, k], scalars: a)
        let rhs = transposeB ? Tensor(shape: [n, k], scalars: transpose(b, rows: k, columns: n))
                             : Tensor(shape: [k, n], scalars: b)
        let product = lhs.matmul(rhs, transposeSelf: transposeA, transposeOther: transposeB)

        #expect(product.shape == [m, n])
        for (got, want) in zip(product.scalars, expected) {
            #expect(abs(got - want) <= 1e-5 * max(1, abs(want)))
        }
    }

    @Test func sgemmAccumulatesIntoStridedBlock() {
        // C is the left 2x2 block of a 2x3 buffer; beta = 1 keeps what was there.
        let a: [Float] = [1, 2, 3, 4]          // [2, 2]
        let b: [Float] = [5, 6, 7, 8]          // [2, 2]
        var c: [Float] = [1, 1, 9, 1, 1, 9]    // [2, 3], ldc 3
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    GEMM.sgemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 2,
                               a: a.baseAddress!, lda: 2, b: b.baseAddress!, ldb: 2,
                               beta: 1, c: c.baseAddress!, ldc: 3)
                }
            }
        }
        #expect(c == [20, 23, 9, 44, 51, 9])
    }

    @Test func reshapeKeepsScalars() {
        let t = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        let r = t.reshaped([3, 2])
        #expect(r.shape == [3, 2])
        #expect(r[2, 1] == 5)
    }
}

@Suite struct OperationTests {
    @Test func geluMatchesTheErfForm() {
        let xs = stride(from: Float(-12), through: 12, by: 0.001).map { $0 } + [0, -0.0, 1e-8, -1e-8, 100, -100, .infinity]
        let got = gelu(Tensor(shape: [xs.count], scalars: xs)).scalars
        for (x, y) in zip(xs, got) {
            let exact = Float(Double(x) * 0.5 * (1 + erf(Double(x) / 2.0.squareRoot())))
            #expect(y == exact || abs(y - exact) <= 2e-7 * max(1, abs(x)), "gelu(\(x)) = \(y), expected \(exact)")
        }
        #expect(gelu(Tensor(shape: [1], scalars: [-.infinity])).scalars[0].isNaN || gelu(Tensor(shape: [1], scalars: [-.infinity])).scalars[0] == 0)
    }

    @Test(arguments: [(96, 160, 200), (7, 37, 23), (1, 16, 4), (161, 64, 96), (300, 70, 130)])
    func linearMatchesTheMatrixProduct(rows: Int, inputs: Int, outputs: Int) {
        // Small row counts take the direct kernel, large ones BLAS split by columns.
        var generator = SplitMix64(seed: UInt64(rows * 7 + inputs))
        let x = Tensor(shape: [rows, inputs], scalars: (0..<(rows * inputs)).map { _ in generator.nextFloat() })
        let w = Tensor(shape: [outputs, inputs], scalars: (0..<(outputs * inputs)).map { _ in generator.nextFloat() })
        let b = Tensor(shape: [outputs], scalars: (0..<outputs).map { _ in generator.nextFloat() })
        let y = linear(x, weight: w, bias: b)
        let reference = x.matmul(w, transposeOther: true)
        for r in 0..<rows { for c in 0..<outputs { #expect(abs(y[r, c] - (reference[r, c] + b.scalars[c])) < 1e-4) } }
    }
}

@Suite struct PackedWeightTests {
    func random(_ count: Int, _ generator: inout SplitMix64) -> [Float] { (0..<count).map { _ in generator.nextFloat() } }

    /// float32 packed weights read the activations in place; larger and then smaller products
    /// than before reuse each thread's workspace.
    @Test(arguments: [(300, 130, 70), (1, 16, 2), (64, 257, 96)])
    func float32MatchesTheLoadedWeight(rows: Int, outputs: Int, inputs: Int) {
        var generator = SplitMix64(seed: UInt64(rows + outputs))
        let x = Tensor(shape: [rows, inputs], scalars: random(rows * inputs, &generator))
        let w = Tensor(shape: [outputs, inputs], scalars: random(outputs * inputs, &generator))
        let b = Tensor(shape: [outputs], scalars: random(outputs, &generator))
        let residual = Tensor(shape: [rows, outputs], scalars: random(rows * outputs, &generator))
        let expected = linear(x, weight: w, bias: b, residual: residual)
        let got = linear(x, weight: PackedWeight(w, format: .fp32), bias: b, residual: residual)
        for r in 0..<rows { for c in 0..<outputs { #expect(abs(got[r, c] - expected[r, c]) < 1e-4, "[\(r), \(c)]") } }
    }

    @Test(arguments: [(1, 16, 2), (7, 33, 5), (13, 100, 64), (64, 257, 96)])
    func gemmMatchesTheRoundedFloat32Product(rows: Int, outputs: Int, inputs: Int) {
        var generator = SplitMix64(seed: UInt64(rows * 1000 + outputs))
        let x = Tensor(shape: [rows, inputs], scalars: random(rows * inputs, &generator))
        let w = Tensor(shape: [outputs, inputs], scalars: random(outputs * inputs, &generator))
        let b = Tensor(shape: [outputs], scalars: random(outputs, &generator))
        // bfloat16 products are exact in float32: the rounded inputs' float32 product is the yardstick.
        func rounded(_ t: Tensor) -> Tensor {
            Tensor(shape: t.shape, scalars: t.scalars.map { Float(bitPattern: ($0.bitPattern &+ 0x7FFF &+ (($0.bitPattern >> 16) & 1)) & 0xFFFF_0000) })
        }
        let expected = linear(rounded(x), weight: rounded(w), bias: b)
        let got = linear(x, weight: PackedWeight(w, format: .bf16), bias: b)
        #expect(got.shape == [rows, outputs])
        for r in 0..<rows { for c in 0..<outputs { #expect(abs(got[r, c] - expected[r, c]) < 1e-4, "[\(r), \(c)]") } }
    }

    /// Values on both int8 grids (a row's inputs in {−a, 0, a}, a channel's weights integers up to
    /// ±127 times its scale): the int8 product is the float32 product, whatever range the CPU's
    /// kernels give the activations.
    @Test(arguments: [(1, 16, 2), (7, 33, 5), (13, 100, 64), (64, 257, 96)])
    func int8GemmIsExactOnItsGrid(rows: Int, outputs: Int, inputs: Int) {
        var generator = SplitMix64(seed: UInt64(rows * 31 + inputs))
        let x = Tensor(shape: [rows, inputs], scalars: (0..<(rows * inputs)).map { i in
            Float(Int(generator.next() % 3) - 1) * Float(1 + i / inputs) * 0.25
        })
        let w = Tensor(shape: [outputs, inputs], scalars: (0..<(outputs * inputs)).map { i in
            Float(i % inputs == 0 ? 127 : Int(generator.next() % 255) - 127) * Float(1 + i / inputs) / 512
        })
        let b = Tensor(shape: [outputs], scalars: random(outputs, &generator))
        let expected = linear(x, weight: w, bias: b)
        let got = linear(x, weight: PackedWeight(w, format: .int8), bias: b, residual: Tensor(shape: [rows, outputs], scalars: [Float](repeating: 1, count: rows * outputs)))
        for r in 0..<rows { for c in 0..<outputs { #expect(abs(got[r, c] - 1 - expected[r, c]) < 1e-4 * max(1, abs(expected[r, c])), "[\(r), \(c)]") } }
    }

    /// Anywhere else the int8 product is off by at most its inputs' rounding: half a step of
    /// each operand's scale (the activations' at 7 bits, the coarser grid), per product.
    @Test func int8GemmStaysWithinItsQuantizationError() {
        let (rows, outputs, inputs) = (9, 70, 300)
        var generator = SplitMix64(seed: 8)
        let x = Tensor(shape: [rows, inputs], scalars: random(rows * inputs, &generator))
        let w = Tensor(shape: [outputs, inputs], scalars: random(outputs * inputs, &generator))
        let expected = linear(x, weight: w, bias: nil)
        let got = linear(x, weight: PackedWeight(w, format: .int8), bias: nil)
        for r in 0..<rows {
            let xs = (0..<inputs).map { abs(x[r, $0]) }
            let sx = xs.max()! / 63
            for c in 0..<outputs {
                let ws = (0..<inputs).map { abs(w[c, $0]) }
                let sw = ws.max()! / 127
                let bound = zip(xs, ws).reduce(Float(0)) { $0 + $1.0 * sw / 2 + $1.1 * sx / 2 + sx * sw / 4 }
                #expect(abs(got[r, c] - expected[r, c]) <= bound + 1e-5, "[\(r), \(c)]")
            }
        }
    }
}

@Suite struct SoftmaxTests {
    @Test func rowsSumToOneAndMatchTheDefinition() {
        var generator = SplitMix64(seed: 3)
        for columns in [1, 5, 16, 37, 128] {
            var values = (0..<(3 * columns)).map { _ in generator.nextFloat() * 30 }
            let original = values
            values.withUnsafeMutableBufferPointer { softmaxRowsInPlace($0.baseAddress!, rows: 3, columns: columns) }
            for row in 0..<3 {
                let slice = original[(row * columns)..<((row + 1) * columns)].map(Double.init)
                let maximum = slice.max()!
                let total = slice.reduce(0) { $0 + exp($1 - maximum) }
                for (index, x) in slice.enumerated() {
                    let expected = exp(x - maximum) / total
                    #expect(abs(Double(values[row * columns + index]) - expected) <= 1e-6 * max(1, expected))
                }
            }
        }
    }
}
