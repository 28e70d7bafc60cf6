import ZenText

/// finetune's summary line, built field by field; every other result of the tool is an
/// `Encodable` written through `JSONOutput`.
struct JSONObjectBuilder {
    private var fields: [String] = []

    mutating func add(_ name: String, raw json: String) { fields.append(jsonString(name) + ":" + json) }

    var json: String { "{" + fields.joined(separator: ",") + "}" }
}

/// A JSON string literal, as `JSONOutput` writes it.
func jsonString(_ text: String) -> String { (try? JSONOutput.string(text)) ?? "null" }
