import Foundation
import Testing
@testable import ZenModel
import ZenTensor

/// The network against the reference's outputs, within 1e-4.
@Suite struct ModelParityTests {
    static let tolerance: Float = 1e-4

    @Test func bareEncoderFromSafetensors() throws {
        let model = try ZenModel(directory: ModelFixtures.path("zen2-tiny-base"))
        let builder = try model.featureBuilder(maxSeqLength: ModelFixtures.maxSeqLength("zen2-tiny-base"))
        for fixture in ModelFixtures.cases("zen2-tiny-base") {
            let features = try builder.sequenceFeatures(text: fixture["text"] as! String, pair: fixture["text_pair"] as? String)
            let output = try model.encode(features, keepLayers: true)
            let sequence = (0..<output.sequence.shape[0]).map { output.sequence.row($0) }
            #expect(maxDifference(try #require(output.pooled), floats(fixture["pooled_output"])) < Self.tolerance)
            #expect(maxDifference(sequence, floatRows(fixture["sequence_output"])) < Self.tolerance)
            #expect(maxDifference(output.layers.map { $0.row(0) }, floatRows(fixture["layer_outputs_first_token"])) < Self.tolerance)
        }
    }
}

extension ModelParityTests {
    @Test func tokenClassifierFromSafetensors() throws {
        let name = "zen2-tiny-ner"
        let model = try ZenModel(directory: ModelFixtures.path(name))
        let maxSeqLength = ModelFixtures.maxSeqLength(name)
        for fixture in ModelFixtures.cases(name) {
            let chars = fixture["chars"] as! [String]
            // Two cases are longer than max_seq_length: the reference truncates them.
            let tagged = try model.tag(chars: chars, maxSeqLength: maxSeqLength, longTexts: .truncate)
            #expect(maxDifference(tagged.logits, floatRows(fixture["logits"])) < Self.tolerance)
            #expect(tagged.labels.count == chars.count)
            let reference = try model.tag(chars: chars, maxSeqLength: maxSeqLength, weighting: .referenceToken, longTexts: .truncate)
            #expect(maxDifference(reference.logits, floatRows(fixture["logits_reference_token"])) < Self.tolerance)
        }
    }
}

extension ModelParityTests {
    @Test func sequenceClassifierFromZipPickle() throws {
        let name = "zen2-tiny-cls"
        let model = try ZenModel(directory: ModelFixtures.path(name))
        let cases = ModelFixtures.cases(name)
        let texts = cases.map { $0["text"] as! String }
        let pairs = cases.map { $0["text_pair"] as? String }
        let maxSeqLength = ModelFixtures.maxSeqLength(name)
        let results = try model.classify(texts, pairs: pairs, maxSeqLength: maxSeqLength)
        let reference = try model.classify(texts, pairs: pairs, maxSeqLength: maxSeqLength, weighting: .referenceSequence)
        let outputs = try model.embed(texts, pairs: pairs, maxSeqLength: maxSeqLength)
        for (index, fixture) in cases.enumerated() {
            #expect(maxDifference(results[index].logits, floats(fixture["logits"])) < Self.tolerance)
            #expect(maxDifference(reference[index].logits, floats(fixture["logits_reference_sequence"])) < Self.tolerance)
            #expect(maxDifference(try #require(outputs[index].pooled), floats(fixture["pooled_output"])) < Self.tolerance)
            let sequence = (0..<outputs[index].sequence.shape[0]).map { outputs[index].sequence.row($0) }
            #expect(maxDifference(sequence, floatRows(fixture["sequence_output"])) < Self.tolerance)
        }
    }

    @Test func releasedFormatFloat16Pickle() throws {
        let name = "zen2-tiny-cls-fp16"
        let model = try ZenModel(directory: ModelFixtures.path(name))
        let cases = ModelFixtures.cases(name)
        let results = try model.classify(cases.map { $0["text"] as! String }, pairs: cases.map { $0["text_pair"] as? String },
                                         maxSeqLength: ModelFixtures.maxSeqLength(name))
        for (result, fixture) in zip(results, cases) {
            #expect(maxDifference(result.logits, floats(fixture["logits"])) < Self.tolerance)
        }
    }

    @Test func maskedLMFromLegacyFloat16Pickle() throws {
        let name = "zen2-tiny-mlm"
        let model = try ZenModel(directory: ModelFixtures.path(name))
        for fixture in ModelFixtures.cases(name) {
            // The reference's features: [MASK] only as a word of its own.
            let result = try model.fillMask(fixture["text"] as! String, pair: fixture["text_pair"] as? String,
                                            maxSeqLength: ModelFixtures.maxSeqLength(name), masks: .reference)
            #expect(maxDifference(result.masks.map(\.logits), floatRows(fixture["mask_logits"])) < Self.tolerance)
            #expect(maxDifference(result.nextSentence ?? [], floats(fixture["nsp_logits"])) < Self.tolerance)
        }
    }

    @Test func bareEncoderFromPickleEqualsSafetensors() throws {
        let directory = ModelFixtures.path("zen2-tiny-base")
        let pickle = try WeightStore(file: directory + "/pytorch_model.bin")
        let safetensors = try WeightStore(file: directory + "/model.safetensors")
        #expect(pickle.names == safetensors.names)
        for name in safetensors.names {
            #expect(pickle.data(name)?.floats() == safetensors.data(name)?.floats(), "\(name)")
        }
    }
}
