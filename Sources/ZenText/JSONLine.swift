import Foundation

/// One non-blank line of a JSON Lines file (from `TextFile.jsonLines`).
public struct JSONLine: Sendable {
    /// The file as messages name it.
    public var path: String
    /// 1-based, counting every line of the file.
    public var number: Int
    /// 0-based among the non-blank lines: the example's position.
    public var index: Int
    public var text: String

    public init(path: String, number: Int, index: Int, text: String) {
        (self.path, self.number, self.index, self.text) = (path, number, index, text)
    }

    /// An error about this line: `PATH line N: reason`.
    public func failure(_ reason: String) -> TextError { .invalidLine(path: path, line: number, reason: reason) }

    /// Decodes the line, turning failures into messages that name the column or the field.
    public func decode<T: Decodable>(_ type: T.Type) throws(TextError) -> T {
        do {
            return try JSONInput.decode(type, from: Data(text.utf8))
        } catch let error as JSONSyntaxError {
            throw failure("not valid JSON: \(error)")
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, let context):
                throw failure("missing field \"\(DecodingError.fieldPath(context, appending: key))\"")
            case .typeMismatch(_, let context) where context.codingPath.isEmpty:
                throw failure("not a JSON object")
            case .typeMismatch(let expected, let context), .valueNotFound(let expected, let context):
                throw failure("field \"\(DecodingError.fieldPath(context))\" must be \(DecodingError.jsonTypeName(expected))")
            case .dataCorrupted(let context):
                throw failure("field \"\(DecodingError.fieldPath(context))\": \(context.debugDescription)")
            @unknown default:
                throw failure("\(error)")
            }
        } catch {
            throw failure("\(error)")
        }
    }
}

extension DecodingError {
    /// A field as messages name it: `texts[2]`, `options.top_k`.
    public static func fieldPath(_ context: Context, appending key: (any CodingKey)? = nil) -> String {
        (context.codingPath + (key.map { [$0] } ?? [])).reduce("") { path, key in
            key.intValue.map { "\(path)[\($0)]" } ?? (path.isEmpty ? key.stringValue : "\(path).\(key.stringValue)")
        }
    }

    /// What a JSON value must be to decode as `type`: "a string", "an integer", ….
    public static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is any FixedWidthInteger.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        case is [String: Any].Type: "an object"
        default: "a JSON value of type \(type)"
        }
    }
}
