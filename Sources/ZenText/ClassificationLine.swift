/// The fields of a JSON line that hold a classification example, and the one reader of such
/// lines: `zen predict`, `zen finetune` and `zen evaluate` read them alike.
public struct ClassificationFields: Sendable, Equatable {
    /// The text's field; nil: `text`, else `sentence` (CLUE's name).
    public var text: String?
    /// The second text's field, then required on every line; nil: `text_pair` when a line has it.
    public var pair: String?
    public var label: String
    public var id: String

    /// The text fields looked for when none is named, in order.
    public static let defaultTextFields = ["text", "sentence"]
    public static let defaultPairField = "text_pair"

    public init(text: String? = nil, pair: String? = nil, label: String = "label", id: String = "id") {
        (self.text, self.pair, self.label, self.id) = (text, pair, label, id)
    }

    public func read(_ line: JSONLine) throws(TextError) -> ClassificationInput {
        guard case .object(let fields) = try line.decode(JSONValue.self) else { throw line.failure("not a JSON object") }
        let present = fields.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
        let has = present.isEmpty ? "the line has no fields" : "the line has \(present)"

        func string(_ name: String) throws(TextError) -> String? {
            switch fields[name] {
            case nil: return nil
            case .string(let value)?: return value
            default: throw line.failure("field \"\(name)\" must be a string")
            }
        }

        let textNames = text.map { [$0] } ?? Self.defaultTextFields
        guard let textName = textNames.first(where: { fields[$0] != nil }), let textValue = try string(textName) else {
            throw line.failure("no text field \(textNames.map { "\"\($0)\"" }.joined(separator: " or ")); \(has); name the text field with --text-field")
        }
        let pairValue: String?
        if let pair {
            guard let value = try string(pair) else {
                throw line.failure("no text pair field \"\(pair)\"; \(has); name the pair's field with --text-pair-field")
            }
            pairValue = value
        } else {
            pairValue = fields[Self.defaultPairField] == .null ? nil : try string(Self.defaultPairField)
        }
        return ClassificationInput(text: textValue, pair: pairValue, label: fields[label], id: fields[id])
    }
}

/// A classification example as a line gives it.
public struct ClassificationInput: Sendable, Equatable {
    public var text: String
    public var pair: String?
    /// The label as the line writes it (a name or a number), if it has one.
    public var label: JSONValue?
    /// The id, copied through to outputs as it is.
    public var id: JSONValue?

    public init(text: String, pair: String? = nil, label: JSONValue? = nil, id: JSONValue? = nil) {
        (self.text, self.pair, self.label, self.id) = (text, pair, label, id)
    }
}
