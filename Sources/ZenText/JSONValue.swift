import Foundation

/// Any JSON value, for fields such as `id` that are copied from input to output untouched.
public enum JSONValue: Codable, Sendable, Equatable {
    /// `unsigned` is an integer above `Int64.max` that fits 64 bits (a seed, a hash).
    case null, bool(Bool), integer(Int64), unsigned(UInt64), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    /// Read from `JSONInput`, the value is taken as parsed; from another decoder, by trying
    /// each kind in turn.
    public init(from decoder: Decoder) throws {
        if let decoder = decoder as? JSONValueDecoder {
            self = decoder.value
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .unsigned(let value): try container.encode(value)
        case .number(let value): if value.isFinite { try container.encode(value) } else { try container.encodeNil() }
        case .string(let value): try container.encode(value)
        case .array(let values): try container.encode(values)
        case .object(let fields): try container.encode(fields)
        }
    }

    /// The value as `JSONSerialization` gives it (`NSNull`, `NSNumber`, `String`, arrays and
    /// dictionaries), for code written against that form.
    public var foundationObject: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): NSNumber(value: value)
        case .integer(let value): NSNumber(value: value)
        case .unsigned(let value): NSNumber(value: value)
        case .number(let value): NSNumber(value: value)
        case .string(let value): value
        case .array(let values): values.map(\.foundationObject)
        case .object(let fields): fields.mapValues(\.foundationObject)
        }
    }

    /// The value as text: a string as itself, null as nil, anything else as its JSON.
    public var text: String? {
        switch self {
        case .null: return nil
        case .string(let value): return value
        default: return String(decoding: (try? JSONOutput.encode(self)) ?? Data(), as: UTF8.self)
        }
    }
}


/// Reads a `Decodable` from a parsed `JSONValue`, with the errors and coding paths that
/// `JSONDecoder` gives, so that messages can name the field.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw mismatch([String: Any].self) }
        return KeyedDecodingContainer(KeyedContainer(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([Any].self) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func mismatch(_ type: Any.Type) -> DecodingError {
        let kind = switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .unsigned, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
        let context = DecodingError.Context(codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(kind) instead.")
        return value == .null && !codingPath.isEmpty ? .valueNotFound(type, context) : .typeMismatch(type, context)
    }

    struct Index: CodingKey {
        var intValue: Int?
        var stringValue: String { "Index \(intValue!)" }
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { nil }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: JSONValue]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

        func decoder(for key: Key) throws -> JSONValueDecoder {
            guard let value = fields[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value for key \"\(key.stringValue)\"."))
            }
            return JSONValueDecoder(value: value, codingPath: codingPath + [key])
        }

        func decodeNil(forKey key: Key) throws -> Bool { try decoder(for: key).value == .null }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decoder(for: key).decode(type) }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try decoder(for: key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try decoder(for: key).unkeyedContainer() }
        func superDecoder() throws -> any Decoder { JSONValueDecoder(value: .object(fields), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { try decoder(for: key) }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let elements: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex == elements.count }

        init(elements: [JSONValue], codingPath: [any CodingKey]) { (self.elements, self.codingPath) = (elements, codingPath) }

        mutating func next(_ type: Any.Type) throws -> JSONValueDecoder {
            let path = codingPath + [Index(intValue: currentIndex)]
            guard !isAtEnd else { throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "Unkeyed container is at end.")) }
            defer { currentIndex += 1 }
            return JSONValueDecoder(value: elements[currentIndex], codingPath: path)
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, elements[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).decode(type) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next([String: Any].self).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next([Any].self).unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next(Any.self) }
    }
}

extension JSONValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch(type) }
        return bool
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let string) = value else { throw mismatch(type) }
        return string
    }

    func decode(_ type: Double.Type) throws -> Double {
        switch value {
        case .integer(let integer): return Double(integer)
        case .unsigned(let integer): return Double(integer)
        case .number(let number): return number
        default: throw mismatch(type)
        }
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    /// An integer type from a number that is one (`3`, `3.0`, `3e0`) and fits it.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        switch type {
        case is Bool.Type: return try decode(Bool.self) as! T
        case is String.Type: return try decode(String.self) as! T
        case is Double.Type: return try decode(Double.self) as! T
        case is Float.Type: return try decode(Float.self) as! T
        case let integer as any FixedWidthInteger.Type: return try decodeInteger(integer) as! T
        default: return try T(from: self)
        }
    }

    private func decodeInteger<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        let exact: I? = switch value {
        case .integer(let integer): I(exactly: integer)
        case .unsigned(let integer): I(exactly: integer)
        case .number(let number): I(exactly: number)
        default: throw mismatch(type)
        }
        guard let exact else {
            let number = switch value {
            case .integer(let integer): "\(integer)"
            case .unsigned(let integer): "\(integer)"
            case .number(let number): "\(number)"
            default: "the value"
            }
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath,
                                                    debugDescription: "\(number) is not \(I.isSigned ? "a" : "an unsigned") \(I.bitWidth)-bit integer"))
        }
        return exact
    }
}
