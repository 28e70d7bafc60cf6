import ZenText

/// finetune's summary line, built field by field. Every other result is an `Encodable` written
/// through `JSONOutput`; this goes too when finetune's output does.
struct JSONObjectBuilder {
    private var fields: [String] = []

    mutating func add(_ name: String, raw json: String) { fields.append(jsonString(name) + ":" + json) }

    var json: String { "{" + fields.joined(separator: ",") + "}" }
}

/// A JSON string literal, as `JSONOutput` writes it.
func jsonString(_ text: String) -> String { (try? JSONOutput.string(text)) ?? "null" }
