import Foundation
import Testing
import ZenModel
import ZenTensor
import ZenText
import ZenTraining

/// The loss and every parameter's gradient against the reference's `grads.safetensors`
/// (dropout off), relative 1e-3 on each gradient whose norm is not negligible.
@Suite struct GradientParityTests {
    @Test func sequenceClassifier() throws {
        let name = "zen2-tiny-cls"
        let model = try ZenModel(directory: ModelFixtures.path(name))
        let trainable = try TrainableModel(model, task: .classification, classNames: ["0", "1", "2"], seed: 0)
        let builder = try model.featureBuilder(maxSeqLength: ModelFixtures.maxSeqLength(name))
        let cases = ModelFixtures.cases(name).prefix(8)
        let batch = try cases.map { try builder.sequenceFeatures(text: $0["text"] as! String, pair: $0["text_pair"] as? String) }
        var gradients = ParameterGradients()
        let loss = try trainable.loss(batch, labels: cases.map { $0["label"] as! Int }, dropoutSeed: nil, gradients: &gradients)
        #expect(abs(loss - (ModelFixtures.expected(name)["loss_first8"] as! Double)) < 1e-5)
        try Self.compare(gradients, reference: ModelFixtures.path(name) + "/grads.safetensors")
    }

    @Test func tokenClassifier() throws {
        let name = "zen2-tiny-ner"
        let model = try ZenModel(directory: ModelFixtures.path(name))
        let label2id = ModelFixtures.expected(name)["label2id"] as! [String: Int]
        let classNames = label2id.sorted { $0.value < $1.value }.map(\.key)
        let trainable = try TrainableModel(model, task: .ner, classNames: classNames, seed: 0)
        let labels = LabelSet(Array(classNames.dropFirst()))
        let builder = try model.featureBuilder(maxSeqLength: ModelFixtures.maxSeqLength(name))
        let batch = try ModelFixtures.cases(name).map {
            try builder.tokenFeatures(words: $0["chars"] as! [String], labels: $0["labels"] as? [String], labelSet: labels)
        }
        var gradients = ParameterGradients()
        let loss = try trainable.loss(batch, dropoutSeed: nil, gradients: &gradients)
        #expect(abs(loss - (ModelFixtures.expected(name)["loss"] as! Double)) < 1e-5)
        try Self.compare(gradients, reference: ModelFixtures.path(name) + "/grads.safetensors")
    }

    /// Every reference gradient has ours, ours has no extra ones, and each agrees to relative 1e-3
    /// of its norm (gradients below 1e-6, such as the key biases' rounding noise, only absolutely).
    static func compare(_ gradients: ParameterGradients, reference path: String) throws {
        let reference = try SafeTensors.read(path)
        let ours = Dictionary(uniqueKeysWithValues: gradients.tensors.map { (WeightStore.referenceName($0.key), $0.value) })
        #expect(Set(ours.keys) == Set(reference.keys))
        for (parameter, data) in reference {
            let expected = data.floats()
            guard let actual = ours[parameter]?.scalars, actual.count == expected.count else {
                Issue.record("\(parameter): no gradient of \(expected.count) values")
                continue
            }
            let norm = expected.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            let difference = zip(actual, expected).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            #expect(difference <= max(1e-3 * norm, 1e-6), "\(parameter): difference \(difference), norm \(norm)")
        }
    }
}

extension GradientParityTests {
    /// With an all-zero fusion matrix the training pass skips the n-gram encoder: the loss is
    /// the inference pass's, and the n-gram parameters get zero gradients (so AdamW still steps
    /// them, as torch does).
    @Test func withoutNgramsTheNgramEncoderIsSkipped() throws {
        let name = "zen2-tiny-cls"
        let model = try ZenModel(directory: ModelFixtures.path(name))
        let trainable = try TrainableModel(model, task: .classification, classNames: ["0", "1", "2"], seed: 0)
        let cases = Array(ModelFixtures.cases(name).prefix(8))
        let texts = cases.map { $0["text"] as! String }
        let builder = try model.featureBuilder(maxSeqLength: 64, weighting: .none)
        let batch = try texts.map { try builder.sequenceFeatures(text: $0) }
        let labels = cases.map { $0["label"] as! Int }
        var gradients = ParameterGradients()
        let loss = try trainable.loss(batch, labels: labels, dropoutSeed: nil, gradients: &gradients)
        let logits = try model.classify(texts, maxSeqLength: 64, weighting: .none).map(\.logits)
        let reference = crossEntropy(logits: Tensor(shape: [8, 3], scalars: logits.flatMap { $0 }), targets: labels).loss
        #expect(abs(loss - reference) < 1e-5)
        let ngramTable = try #require(gradients["word_embeddings.word_embeddings.weight"])
        #expect(ngramTable.scalars.allSatisfy { $0 == 0 })
        #expect(gradients["encoder.word_layers.0.output.dense.weight"]?.scalars.allSatisfy { $0 == 0 } == true)
        #expect(gradients["encoder.layer.0.output.dense.weight"]?.scalars.contains { $0 != 0 } == true)
    }
}
