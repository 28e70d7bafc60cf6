import Foundation

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
    case unreadable(path: String, reason: String)
    case malformedLine(path: String, line: Int, reason: String)
    case empty(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .malformedLine(let path, let line, let reason): return "\(path) line \(line): \(reason)"
        case .empty(let path): return "\(path) holds no examples"
        }
    }
}

public enum Datasets {
    /// A char-per-line file: `char label` separated by a tab or a space, a blank line between
    /// sentences, `-DOCSTART-` lines ignored. The character is everything before the last
    /// separator, so a full-width space survives as a character.
    public static func readTagged(_ path: String) throws(DatasetError) -> [TaggedSentence] {
        var sentences: [TaggedSentence] = []
        var current = TaggedSentence(chars: [], labels: [])
        for (index, line) in try lines(path).enumerated() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("-DOCSTART-") {
                if !current.chars.isEmpty { sentences.append(current) }
                current = TaggedSentence(chars: [], labels: [])
                continue
            }
            let separator = line.contains("\t") ? "\t" : " "
            guard let cut = line.range(of: separator, options: .backwards), cut.lowerBound > line.startIndex else {
                throw .malformedLine(path: path, line: index + 1, reason: "expected a character and a tag, separated by a tab or a space")
            }
            let label = line[cut.upperBound...].trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty else { throw .malformedLine(path: path, line: index + 1, reason: "the tag is empty") }
            current.chars.append(String(line[..<cut.lowerBound]))
            current.labels.append(label)
        }
        if !current.chars.isEmpty { sentences.append(current) }
        guard !sentences.isEmpty else { throw .empty(path: path) }
        return sentences
    }

    /// CLUE-style JSON Lines; rows whose label is `-` are skipped, as the reference does for CMNLI.
    public static func readClassification(_ path: String, textField: String = "sentence", pairField: String? = nil,
                                          labelField: String = "label", idField: String = "id") throws(DatasetError) -> [ClassificationExample] {
        var examples: [ClassificationExample] = []
        for (index, line) in try lines(path).enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw .malformedLine(path: path, line: index + 1, reason: "not a JSON object")
            }
            guard let text = object[textField] as? String else {
                throw .malformedLine(path: path, line: index + 1, reason: "no string field \"\(textField)\"")
            }
            let label = object[labelField].map { "\($0)" }
            if label == "-" { continue }
            var pair: String?
            if let pairField {
                guard let value = object[pairField] as? String else {
                    throw .malformedLine(path: path, line: index + 1, reason: "no string field \"\(pairField)\"")
                }
                pair = value
            }
            examples.append(ClassificationExample(id: object[idField].map { "\($0)" }, text: text, pair: pair, label: label))
        }
        guard !examples.isEmpty else { throw .empty(path: path) }
        return examples
    }

    /// Lines split on `\n` or `\r\n` (one Character in Swift), the file checked to be UTF-8.
    private static func lines(_ path: String) throws(DatasetError) -> [Substring] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied or a directory" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw .unreadable(path: path, reason: "not UTF-8") }
        return text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
    }
}
