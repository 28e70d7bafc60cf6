import ArgumentParser
import Foundation
import ZenModel
import ZenTensor
import ZenText

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the model on synthetic batches and print one JSON line.",
        discussion: """
        Every sequence has R real tokens ([CLS] and [SEP] included) and K real n-grams of 2 characters, \
        built as scripts/zen2_torch.py builds them, so that scripts/compare_torch.py can run PyTorch on the \
        same inputs. Sequences run at their real length; L only sets the fusion matrix's rows. load_s is from \
        the start of loading to the end of the first prediction (one sequence); a warm-up batch follows it.
        """
    )

    @OptionGroup var model: ModelOptions
    @Option(help: "Sequences per batch.") var batch: Int = 8
    @Option(help: "max_seq_length (L).") var maxSeqLength: Int = 128
    @Option(help: "Real tokens per sequence (R), [CLS] and [SEP] included.") var realLength: Int = 64
    @Option(help: "Real n-grams per sequence (K), each of 2 characters.") var ngrams: Int = 20
    @Option(help: "Timed batches.") var iterations: Int = 5
    @Option(help: "Compute threads (the GEMMs and the attention).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard batch >= 1, iterations >= 1, threads >= 1 else { throw ValidationError("batch, iterations and threads must be positive") }
        guard (4...maxSeqLength).contains(realLength) else { throw ValidationError("real-length must be between 4 and max-seq-length") }
        guard (0...NgramDictionary.slotCount).contains(ngrams) else { throw ValidationError("ngrams must be between 0 and 128") }
    }

    func run() throws {
        ComputeThreads.set(threads)
        let start = DispatchTime.now()
        let model = try model.load()
        let inputs = syntheticBatch(wordSize: model.config.wordSize)
        _ = try model.encode([inputs[0]])
        let loadSeconds = seconds(since: start)
        _ = try model.encode(inputs)

        var times: [Double] = []
        for _ in 0..<iterations {
            let begin = DispatchTime.now()
            _ = try model.encode(inputs)
            times.append(seconds(since: begin))
        }
        times.sort()
        let p50 = times[(times.count - 1) / 2]
        let p90 = times[min(times.count - 1, Int((Double(times.count) * 0.9).rounded(.up)) - 1)]
        let flops = model.forwardFLOPs(lengths: inputs.map(\.inputIds.count))
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let fields: [String: JSONValue] = [
            "seq_per_s": .measured(Double(batch) / p50),
            "batch_ms_p50": .measured(p50 * 1000),
            "batch_ms_p90": .measured(p90 * 1000),
            "load_s": .measured(loadSeconds),
            "peak_rss_mb": .measured(Double(usage.ru_maxrss) / 1024),
            "gflops": .measured(flops / p50 / 1e9),
            "flops_per_batch": .measured(flops),
            "sgemm_gflops": .measured(measureSGEMM()),
            "batch": .integer(Int64(batch)), "max_seq_length": .integer(Int64(maxSeqLength)), "real_length": .integer(Int64(realLength)),
            "ngrams": .integer(Int64(ngrams)), "iterations": .integer(Int64(iterations)), "threads": .integer(Int64(threads)),
            "precision": .string(model.precision.rawValue), "bf16_accelerated": .bool(WeightFormat.bf16.isNative),
            "engine": .string(GEMM.engine), "isa": .string(GEMM.isa),
        ]
        print(try JSONOutput.string(fields))
    }

    /// The inputs of scripts/zen2_torch.py's synthetic batch, exactly.
    private func syntheticBatch(wordSize: Int) -> [InputFeatures] {
        (0..<batch).map { b in
            let ids = (0..<realLength).map { i -> Int32 in
                i == 0 ? 101 : i == realLength - 1 ? 102 : Int32(672 + (b * 131 + i * 7919) % 20000)
            }
            let matches = (0..<ngrams).map { k in
                NgramMatch(id: Int32(1 + (b * 7 + k * 104_729) % (wordSize - 1)), start: Int32(1 + (2 * k) % (realLength - 3)),
                           length: 2, frequency: Int64(1 + k))
            }
            return InputFeatures(inputIds: ids, segmentIds: [Int32](repeating: 0, count: realLength), ngrams: matches,
                                 fusionMatrix: FusionMatrix(matches: matches, rowCount: maxSeqLength, weighting: .frequency))
        }
    }

    /// The engine's sgemm GFLOP/s on 2048 × 2048 matrices, split over the same threads as the model's
    /// projections are, best of 3: the ceiling for the forward pass.
    private func measureSGEMM() -> Double {
        let n = 2048
        let a = Tensor(shape: [n, n]) { for i in $0.indices { $0[i] = Float(i % 7) * 0.1 } }
        var best = Double.infinity
        for _ in 0..<3 {
            let begin = DispatchTime.now()
            _ = linear(a, weight: a, bias: nil)
            best = min(best, seconds(since: begin))
        }
        return 2 * Double(n * n * n) / best / 1e9
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

extension JSONValue {
    /// A measurement, to the 4 significant digits its noise leaves meaningful.
    static func measured(_ value: Double) -> JSONValue { .number(Double(String(format: "%.4g", value)) ?? value) }
}
