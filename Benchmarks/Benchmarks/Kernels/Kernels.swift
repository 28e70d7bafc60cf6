import Benchmark
import Foundation
import ZenTensor
import ZenText

/// The kernels of one ZEN2-668M layer at batch 8 × 64 real tokens (512 rows, H 1024, I 4096,
/// 16 heads), and the text side on real reviews.
let benchmarks: @Sendable () -> Void = {
    let (rows, hidden, inner, heads) = (512, 1024, 4096, 16)
    func random(_ shape: [Int], seed: Int) -> Tensor {
        var state = UInt64(seed)
        return Tensor(shape: shape) { values in
            for i in values.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                values[i] = Float(Int(state >> 40) % 2001 - 1000) / 20_000
            }
        }
    }
    let x = random([rows, hidden], seed: 1)
    let w = random([inner, hidden], seed: 2)
    let bias = random([inner], seed: 3)
    let bf16 = PackedWeight(w, format: .bf16), int8 = PackedWeight(w, format: .int8), fp32 = PackedWeight(w, format: .fp32)
    let gamma = random([hidden], seed: 4), beta = random([hidden], seed: 5)

    Benchmark("linear fp32 512x1024 -> 4096", configuration: .init(metrics: [.wallClock, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(linear(x, weight: w, bias: bias)) }
    }
    for (name, packed) in [("fp32 packed", fp32), ("bf16", bf16), ("int8", int8)] {
        Benchmark("linear \(name) 512x1024 -> 4096", configuration: .init(metrics: [.wallClock, .throughput])) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(linear(x, weight: packed, bias: bias)) }
        }
    }
    Benchmark("relative attention, 8 x 64 tokens, 16 heads", configuration: .init(metrics: [.wallClock, .throughput])) { benchmark in
        let segments = Segments(lengths: [Int](repeating: 64, count: 8))
        let positions = RelativePositions(lengths: [64], dimension: hidden / heads)
        let (q, k, v) = (random([rows, hidden], seed: 6), random([rows, hidden], seed: 7), random([rows, hidden], seed: 8))
        let (contentBias, positionBias) = (random([heads, hidden / heads], seed: 9), random([heads, hidden / heads], seed: 10))
        for _ in benchmark.scaledIterations {
            blackHole(relativeAttention(query: q, key: k, value: v, contentBias: contentBias, positionBias: positionBias,
                                        segments: segments, positions: positions))
        }
    }
    Benchmark("layerNorm 512x1024", configuration: .init(metrics: [.wallClock, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(layerNorm(x, weight: gamma, bias: beta, eps: 1e-12)) }
    }
    Benchmark("gelu 512x4096", configuration: .init(metrics: [.wallClock, .throughput])) { benchmark in
        let h = random([rows, inner], seed: 11)
        for _ in benchmark.scaledIterations { blackHole(gelu(h)) }
    }

    let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared").path
    guard let tokenizer = try? BertTokenizer(vocabularyAt: shared + "/data/bert-base-chinese-vocab.txt"),
          let lexicon = try? NgramDictionary(contentsOf: shared + "/data/ngram/jieba-ngram.txt", tokenizer: tokenizer),
          let builder = try? FeatureBuilder(tokenizer: tokenizer, ngrams: lexicon, maxSeqLength: 128),
          let data = try? String(contentsOfFile: shared + "/data/sentiment/dev.json", encoding: .utf8) else {
        fatalError("the text benchmarks need ../shared beside the repository")
    }
    let texts = data.split(separator: "\n").compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["sentence"] as? String
    }
    Benchmark("tokenize sentiment/dev (\(texts.count) texts)", configuration: .init(metrics: [.wallClock, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations { for text in texts { blackHole(tokenizer.encode(text)) } }
    }
    Benchmark("features sentiment/dev (\(texts.count) texts)", configuration: .init(metrics: [.wallClock, .throughput])) { benchmark in
        for _ in benchmark.scaledIterations { for text in texts { blackHole(try? builder.sequenceFeatures(text: text)) } }
    }
}
