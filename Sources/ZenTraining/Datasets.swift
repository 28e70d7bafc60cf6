import Foundation
import ZenText

/// One sentence of a char-per-line file: its characters (words) and their tags.
public struct TaggedSentence: Sendable, Equatable {
    public var chars: [String]
    public var labels: [String]

    public init(chars: [String], labels: [String]) {
        self.chars = chars
        self.labels = labels
    }
}

/// One row of a CLUE-style classification file.
public struct ClassificationExample: Sendable, Equatable {
    public var id: String?
    public var text: String
    public var pair: String?
    public var label: String?

    public init(id: String?, text: String, pair: String?, label: String?) {
        (self.id, self.text, self.pair, self.label) = (id, text, pair, label)
    }
}

public enum DatasetError: Error, Equatable, CustomStringConvertible {
    case empty(path: String)

    public var description: String {
        switch self {
        case .empty(let path): return "\(path) holds no examples"
        }
    }
}

/// The labelled data sets of fine-tuning and evaluation, read through `TextFile`: a file, or `-`
/// for standard input. A line that cannot be used is a `TextError` naming the file and line.
public enum Datasets {
    /// A char-per-line file: `char label` separated by a tab or a space, a blank line between
    /// sentences, `-DOCSTART-` lines ignored. The character is everything before the last
    /// separator, so a full-width space survives as a character.
    public static func readTagged(_ path: String) throws -> [TaggedSentence] {
        let name = TextFile.displayName(of: path)
        var sentences: [TaggedSentence] = []
        var current = TaggedSentence(chars: [], labels: [])
        for (index, line) in try TextFile.lines(at: path).enumerated() {
            if sentences.isEmpty, current.chars.isEmpty, line.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
                throw TextError.invalidLine(path: name, line: index + 1, reason: "this is a JSON line, but token tasks (--task ner) read "
                    + "char-per-line files: a character and its tag on each line, a blank line between sentences; "
                    + "JSON Lines data is for --task classification")
            }
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("-DOCSTART-") {
                if !current.chars.isEmpty { sentences.append(current) }
                current = TaggedSentence(chars: [], labels: [])
                continue
            }
            let separator = line.contains("\t") ? "\t" : " "
            guard let cut = line.range(of: separator, options: .backwards), cut.lowerBound > line.startIndex else {
                throw TextError.invalidLine(path: name, line: index + 1, reason: "expected a character and a tag, separated by a tab or a space")
            }
            let label = line[cut.upperBound...].trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty else { throw TextError.invalidLine(path: name, line: index + 1, reason: "the tag is empty") }
            current.chars.append(String(line[..<cut.lowerBound]))
            current.labels.append(label)
        }
        if !current.chars.isEmpty { sentences.append(current) }
        guard !sentences.isEmpty else { throw DatasetError.empty(path: name) }
        return sentences
    }

    /// CLUE-style JSON Lines, read by `ClassificationFields`; rows whose label is `-` are
    /// skipped, as the reference does for CMNLI.
    public static func readClassification(_ path: String, fields: ClassificationFields = .init()) throws -> [ClassificationExample] {
        var examples: [ClassificationExample] = []
        for line in try TextFile.jsonLines(at: path) {
            if line.index == 0, !line.text.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
                throw line.failure("not a JSON object, but --task classification reads JSON Lines ({\"sentence\": ..., \"label\": ...} "
                    + "on each line); char-per-line tags are for --task ner")
            }
            let input = try fields.read(line)
            let label = input.label?.text
            if label == "-" { continue }
            examples.append(ClassificationExample(id: input.id?.text, text: input.text, pair: input.pair, label: label))
        }
        guard !examples.isEmpty else { throw DatasetError.empty(path: TextFile.displayName(of: path)) }
        return examples
    }
}
