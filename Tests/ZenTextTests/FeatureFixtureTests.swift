import Testing
import ZenText

/// Every case the reference produced, every field.
@Suite struct FeatureFixtureTests {
    static let sequenceCases = Fixtures.cases("features-sequence.jsonl", as: SequenceFixture.self)
    static let tokenCases = Fixtures.cases("features-token.jsonl", as: TokenFixture.self)

    @Test func fixturesAreThere() {
        #expect(Self.sequenceCases.count == 53)
        #expect(Self.tokenCases.count == 31)
    }

    @Test(arguments: sequenceCases.indices)
    func sequenceCase(_ index: Int) throws {
        let fixture = Self.sequenceCases[index]
        let features = try Fixtures.builder(maxSeqLength: fixture.maxSeqLength)
            .sequenceFeatures(text: fixture.text, pair: fixture.textPair)
        let vocabulary = Fixtures.tokenizer.vocabulary

        #expect(features.inputIds.map(vocabulary.token(of:)) == fixture.tokens, "case \(index): \(fixture.text)")
        #expect(features.inputIds == fixture.inputIds)
        #expect(features.segmentIds == fixture.segmentIds)
        #expect(features.ngramIds == fixture.ngramIds)
        #expect(features.ngramStarts == fixture.ngramStarts)
        #expect(features.ngramLengths == fixture.ngramLengths)
        #expect(features.ngramFreqs == fixture.ngramFreqs)
        #expect(features.paddedNgramIds.count == 128)
        #expect(matrixMismatch(features.fusionMatrix, fixture.ngramMatrix) == nil)

        let reference = try Fixtures.builder(maxSeqLength: fixture.maxSeqLength, weighting: .referenceSequence)
            .sequenceFeatures(text: fixture.text, pair: fixture.textPair)
        #expect(reference.ngrams == features.ngrams)
        #expect(matrixMismatch(reference.fusionMatrix, fixture.ngramMatrixReferenceSequence) == nil)
    }

    @Test(arguments: tokenCases.indices)
    func tokenCase(_ index: Int) throws {
        let fixture = Self.tokenCases[index]
        let features = try Fixtures.builder(maxSeqLength: fixture.maxSeqLength)
            .tokenFeatures(words: fixture.chars, labels: fixture.labels, labelSet: Fixtures.tokenLabels)
        let vocabulary = Fixtures.tokenizer.vocabulary

        #expect(features.inputIds.map(vocabulary.token(of:)) == fixture.tokens, "case \(index)")
        #expect(features.inputIds == fixture.inputIds)
        #expect(features.segmentIds.allSatisfy { $0 == 0 })
        #expect(features.labelIds == fixture.labelIds)
        #expect(features.ngramIds == fixture.ngramIds)
        #expect(features.ngramStarts == fixture.ngramStarts)
        #expect(features.ngramLengths == fixture.ngramLengths)
        #expect(features.ngramFreqs == fixture.ngramFreqs)
        #expect(matrixMismatch(features.fusionMatrix, fixture.ngramMatrix) == nil)

        let reference = try Fixtures.builder(maxSeqLength: fixture.maxSeqLength, weighting: .referenceToken)
            .tokenFeatures(words: fixture.chars, labels: fixture.labels, labelSet: Fixtures.tokenLabels)
        #expect(reference.inputIds == features.inputIds)
        #expect(reference.ngramIds == fixture.referenceTokenNgramIds)
        #expect(matrixMismatch(reference.fusionMatrix, fixture.ngramMatrixReferenceToken) == nil)
    }
}
