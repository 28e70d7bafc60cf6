import Foundation
import Testing
import ZenModel
import ZenText
import ZenTraining

/// `fixtures/training/tiny-cls-finetune`: the reference's fine-tuning run, step by step.
@Suite struct FineTuningParityTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/training/tiny-cls-finetune").path

    struct Expected: Decodable {
        struct Hyperparameters: Decodable {
            var max_seq_length: Int
            var batch_size: Int
            var learning_rate: Double
            var weight_decay: Double
            var warmup_ratio: Double
            var epochs: Int
            var dropout: Double
            var shuffle: Bool
        }
        var hyperparameters: Hyperparameters
        var labels: [String]
        var step_losses: [Double]
        var final_logits: [[Float]]
        var texts: [String]
    }

    @Test func everyStepLossAndTheFinalLogits() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Self.directory + "/expected.json")))
        let hyper = expected.hyperparameters
        let model = try ZenModel(directory: Self.directory + "/init")
        let path = Self.directory + "/train.json"
        let rows = try Datasets.readClassification(path)
        let labels = ClassLabels.firstAppearance(task: .classification, rows.compactMap(\.label))
        #expect(labels.names == expected.labels)
        let builder = try model.featureBuilder(maxSeqLength: hyper.max_seq_length)
        var options = FineTuningOptions()
        (options.batchSize, options.learningRate, options.weightDecay) = (hyper.batch_size, hyper.learning_rate, hyper.weight_decay)
        (options.warmupRatio, options.epochs, options.dropout, options.shuffle) = (hyper.warmup_ratio, hyper.epochs, hyper.dropout, hyper.shuffle)
        var tuner = FineTuner(model: try TrainableModel(model, task: .classification, classNames: labels.classNames, seed: 0),
                              examples: try TrainingData.classification(rows, path: path, builder: builder, labels: labels), options: options)
        var losses: [Double] = []
        while !tuner.isFinished { losses.append(try tuner.trainStep().loss) }
        #expect(losses.count == expected.step_losses.count)
        for (step, (ours, reference)) in zip(losses, expected.step_losses).enumerated() {
            #expect(abs(ours - reference) < 1e-4, "step \(step + 1): \(ours) vs \(reference)")
        }
        let logits = try tuner.model.inferenceModel.classify(expected.texts, maxSeqLength: hyper.max_seq_length).map(\.logits)
        for (index, (ours, reference)) in zip(logits, expected.final_logits).enumerated() {
            #expect(zip(ours, reference).allSatisfy { abs($0 - $1) < 1e-3 }, "text \(index): \(ours) vs \(reference)")
        }
    }
}

extension FineTuningParityTests {
    static func tuner(accumulation: Int, clip: Double? = nil) throws -> FineTuner {
        let model = try ZenModel(directory: Self.directory + "/init")
        let path = Self.directory + "/train.json"
        let rows = try Datasets.readClassification(path)
        let labels = ClassLabels.firstAppearance(task: .classification, rows.compactMap(\.label))
        var options = FineTuningOptions()
        (options.batchSize, options.learningRate, options.epochs, options.dropout, options.shuffle) = (8, 1e-3, 1, 0, false)
        (options.gradientAccumulation, options.maxGradientNorm) = (accumulation, clip)
        return FineTuner(model: try TrainableModel(model, task: .classification, classNames: labels.classNames, seed: 0),
                         examples: try TrainingData.classification(rows, path: path, builder: try model.featureBuilder(maxSeqLength: 48),
                                                                   labels: labels), options: options)
    }

    /// A batch cut into micro-batches takes the same steps (sequence classification averages
    /// equal halves the same way).
    @Test func gradientAccumulationTakesTheSameSteps() throws {
        var whole = try Self.tuner(accumulation: 1), halves = try Self.tuner(accumulation: 2)
        for _ in 0..<whole.totalSteps {
            let (a, b) = (try whole.trainStep(), try halves.trainStep())
            #expect(abs(a.loss - b.loss) < 1e-5, "step \(a.step)")
        }
        // Parameters whose true gradient is zero (the key biases) move by Adam-normalized
        // rounding noise; what they compute does not: compare the outputs.
        let texts = ["样子还是蛮好看的", "很失望。", "(2)附赠的鼠标太小了。"]
        let (a, b) = (try whole.model.inferenceModel.classify(texts, maxSeqLength: 48), try halves.model.inferenceModel.classify(texts, maxSeqLength: 48))
        for (x, y) in zip(a, b) { #expect(zip(x.logits, y.logits).allSatisfy { abs($0 - $1) < 1e-4 }, "\(x.logits) vs \(y.logits)") }
    }

    /// Clipping scales the whole gradient to the given norm; off, nothing changes.
    @Test func gradientClipping() throws {
        var clipped = try Self.tuner(accumulation: 1, clip: 1e-9), free = try Self.tuner(accumulation: 1)
        for _ in 0..<2 { _ = (try clipped.trainStep(), try free.trainStep()) }
        let moved = zip(clipped.model.namedParameters, free.model.namedParameters).contains { $0.1.scalars != $1.1.scalars }
        #expect(moved)
        var gradients = ParameterGradients()
        let model = try TrainableModel(try ZenModel(directory: Self.directory + "/init"), task: .classification,
                                       classNames: ["positive", "negative"], seed: 0)
        let builder = try model.inferenceModel.featureBuilder(maxSeqLength: 48)
        _ = try model.loss([try builder.sequenceFeatures(text: "很好")], labels: [0], dropoutSeed: nil, gradients: &gradients)
        let norm = gradients.norm
        gradients.scale(by: Float(0.5 / norm))
        #expect(abs(gradients.norm - 0.5) < 1e-4)
    }
}
