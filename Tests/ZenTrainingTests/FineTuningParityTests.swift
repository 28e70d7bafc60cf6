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
