import Foundation
import Testing
import ZenModel
import ZenTensor
import ZenText
import ZenTraining

/// `fixtures/training/tiny-pretrain`: the reference's pre-training loop (spec section 7), its
/// first batch's losses and gradients, and a 9-step LAMB run with the PolyWarmUp schedule.
@Suite struct PreTrainingParityTests {
    static let directory = URL(fileURLWithPath: ModelFixtures.directory).deletingLastPathComponent()
        .appendingPathComponent("training/tiny-pretrain").path

    struct Expected: Decodable {
        struct Hyperparameters: Decodable {
            var batch_size: Int
            var learning_rate: Double
            var warmup_proportion: Double
            var weight_decay: Double
            var epochs: Int
            var max_seq_length: Int
            var dropout: Double
            var shuffle: Bool
        }
        struct Losses: Decodable { var mlm_loss: Double, nsp_loss: Double, loss: Double }
        var hyperparameters: Hyperparameters
        var total_steps: Int
        var first_batch: Losses
        var step_losses: [Double]
        var step_mlm_losses: [Double]
        var step_nsp_losses: [Double]
        var step_lrs: [Double]
        var final_mlm_gold_logits: [[Float]]
        var final_mlm_logsumexp: [[Float]]
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/expected.json")))
    }

    static func instances() throws -> [PreTrainingInstance] {
        try PreTrainingInstance.read(contentsOf: directory + "/instances.jsonl")
    }

    static func options(_ hyper: Expected.Hyperparameters) -> PreTrainingOptions {
        var options = PreTrainingOptions()
        (options.batchSize, options.learningRate, options.warmupProportion) = (hyper.batch_size, hyper.learning_rate, hyper.warmup_proportion)
        (options.weightDecay, options.epochs, options.dropout, options.shuffle) = (hyper.weight_decay, hyper.epochs, hyper.dropout, hyper.shuffle)
        return options
    }

    @Test func firstBatchLossesAndEveryGradient() throws {
        let expected = try Self.expected()
        let model = PreTrainingModel(try ZenModel(directory: Self.directory + "/init"), seed: 0)
        let batch = try Self.instances().prefix(expected.hyperparameters.batch_size).map { PreTrainingExample($0, ngramSlots: 128) }
        var gradients = ParameterGradients()
        let loss = try model.loss(batch, dropoutSeed: nil, gradients: &gradients)
        #expect(abs(loss.maskedLM - expected.first_batch.mlm_loss) < 1e-5, "MLM \(loss.maskedLM)")
        #expect(abs(loss.nextSentence - expected.first_batch.nsp_loss) < 1e-5, "NSP \(loss.nextSentence)")
        #expect(abs(loss.total - expected.first_batch.loss) < 1e-5)
        try GradientParityTests.compare(gradients, reference: Self.directory + "/grads.safetensors")
    }

    @Test func everyStepOfTheLAMBRunAndTheFinalLogits() throws {
        let expected = try Self.expected()
        let hyper = expected.hyperparameters
        let instances = try Self.instances()
        var trainer = PreTrainer(model: PreTrainingModel(try ZenModel(directory: Self.directory + "/init"), seed: 0),
                                 epochs: [instances.map { PreTrainingExample($0, ngramSlots: 128) }], options: Self.options(hyper))
        #expect(trainer.totalSteps == expected.total_steps)
        var records: [StepRecord] = []
        while !trainer.isFinished { records.append(try trainer.trainStep()) }
        #expect(records.count == expected.step_losses.count)
        for (index, record) in records.enumerated() {
            #expect(abs(record.loss - expected.step_losses[index]) < 1e-4, "step \(index + 1): \(record.loss)")
            #expect(abs(record.parts!.maskedLM - expected.step_mlm_losses[index]) < 1e-4, "step \(index + 1) MLM")
            #expect(abs(record.parts!.nextSentence - expected.step_nsp_losses[index]) < 1e-4, "step \(index + 1) NSP")
            #expect(abs(record.learningRate - expected.step_lrs[index]) < 1e-9, "step \(index + 1) rate")
        }
        try Self.checkFinalLogits(trainer.model.inferenceModel, instances: instances, expected: expected)
    }

    /// At every masked position of the first batch, the true token's logit and the log-sum-exp of
    /// all logits, within 1e-3.
    static func checkFinalLogits(_ model: ZenModel, instances: [PreTrainingInstance], expected: Expected) throws {
        for (index, instance) in instances.prefix(expected.hyperparameters.batch_size).enumerated() {
            let example = PreTrainingExample(instance, ngramSlots: model.config.maxNgrams)
            let scores = try Evaluation.maskedTokenScores(model, example, output: try model.encode(example.features))
            for (row, score) in scores.enumerated() {
                #expect(abs(score.goldLogit - expected.final_mlm_gold_logits[index][row]) < 1e-3, "instance \(index), mask \(row)")
                #expect(abs(Float(score.logSumExp) - expected.final_mlm_logsumexp[index][row]) < 1e-3, "instance \(index), mask \(row)")
            }
        }
    }

    /// The whole run as `zen pretrain` runs it: the model it saves, loaded as any checkpoint, gives
    /// the final logits (`PretrainCommandTests` runs the command itself).
    @Test func theRunsSavedModelGivesTheFinalLogits() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("zen-pretrain-parity-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let expected = try Self.expected()
        let trainer = PreTrainer(model: PreTrainingModel(try ZenModel(directory: Self.directory + "/init"), seed: 0),
                                 epochs: [try Self.instances().map { PreTrainingExample($0, ngramSlots: 128) }], options: Self.options(expected.hyperparameters))
        var run = try PreTrainingRun(settings: .init(source: Self.directory + "/init", output: output), trainer: trainer,
                                     resumingFrom: try PreTrainingRun.prepare(output: output, epochSizes: [24], resume: false, overwrite: false),
                                     heldOut: nil)
        #expect(try run.run().steps == expected.total_steps)
        let saved = try ZenModel(directory: output)
        #expect(saved.config.ngramAttentionMask)
        try Self.checkFinalLogits(saved, instances: try Self.instances(), expected: expected)
    }

    /// A rate that blows the weights up: the step whose loss is not finite changes nothing, the run
    /// stops with it, and the parameters from before it are both resumable and the model (which
    /// loads, so every weight is finite: the loader refuses NaN and infinity).
    @Test func aNonFiniteLossStopsTheRunWithTheParametersBeforeIt() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("zen-pretrain-nan-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var options = Self.options(try Self.expected().hyperparameters)
        (options.learningRate, options.maxSteps) = (1e30, 3)
        let trainer = PreTrainer(model: PreTrainingModel(try ZenModel(directory: Self.directory + "/init"), seed: 0),
                                 epochs: [try Self.instances().map { PreTrainingExample($0, ngramSlots: 128) }], options: options)
        var run = try PreTrainingRun(settings: .init(source: Self.directory + "/init", output: output), trainer: trainer,
                                     resumingFrom: try PreTrainingRun.prepare(output: output, epochSizes: [24], resume: false, overwrite: false),
                                     heldOut: nil)
        do {
            _ = try run.run()
            Issue.record("the run ended without a non-finite loss")
        } catch FineTuningError.nonFiniteLoss(let step, _) {
            let checkpoint = try Checkpoints.latestResumable(in: output, as: PreTrainingState.self)
            #expect(checkpoint.state.step == step - 1)
            #expect(run.trainer.step == step - 1)
            _ = try ZenModel(directory: output)
            _ = try ZenModel(directory: checkpoint.directory)
        }
    }
}
