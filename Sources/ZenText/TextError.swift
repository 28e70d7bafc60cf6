/// Everything that can be wrong with the text-side inputs, phrased for the person who has to fix it.
public enum TextError: Error, Equatable, CustomStringConvertible {
    case unreadableFile(path: String, reason: String)
    case invalidUTF8(path: String, line: Int)
    /// A line of a data file that cannot be used, and why.
    case invalidLine(path: String, line: Int, reason: String)
    case emptyVocabulary(path: String)
    case missingSpecialToken(token: String, path: String)
    case invalidFrequency(path: String, line: Int, field: String)
    case invalidMaxSeqLength(Int)
    case labelCountMismatch(words: Int, labels: Int)
    case unknownLabel(String, known: [String])
    case weightingNeedsTokenTask(NgramWeighting)
    /// A corpus or vocabulary that pre-training instances cannot be made from, and why.
    case unusablePreTrainingData(String)
    /// An option outside what it may be: its name (as the command line spells it), the value, and
    /// what it must be.
    case invalidOption(name: String, value: String, requirement: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidUTF8(let path, let line):
            return "\(path) line \(line): invalid UTF-8"
        case .invalidLine(let path, let line, let reason):
            return "\(path) line \(line): \(reason)"
        case .emptyVocabulary(let path):
            return "\(path) holds no tokens"
        case .missingSpecialToken(let token, let path):
            return "\(path) has no \(token) token; every BERT vocabulary needs it"
        case .invalidFrequency(let path, let line, let field):
            return "\(path) line \(line): frequency '\(field)' is not an integer"
        case .invalidMaxSeqLength(let value):
            return "max-seq-length \(value) is out of range: it must be between \(FeatureBuilder.maxSeqLengthRange.lowerBound) and \(FeatureBuilder.maxSeqLengthRange.upperBound)"
        case .labelCountMismatch(let words, let labels):
            return "\(words) characters but only \(labels) labels: every character needs a label"
        case .unknownLabel(let label, let known):
            return "label '\(label)' is not in the label list (\(known.joined(separator: ",")))"
        case .weightingNeedsTokenTask(let weighting):
            return "the \(weighting.rawValue) weighting reproduces the reference NER script and applies to token tasks only"
        case .unusablePreTrainingData(let reason):
            return reason
        case .invalidOption(let name, let value, let requirement):
            return "--\(name) \(value) is out of range: \(requirement)"
        }
    }
}
