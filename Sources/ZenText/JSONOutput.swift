import Foundation

/// The one JSON configuration of everything the project writes: command-line results, server
/// responses, configs. Keys sorted (a stable order to diff and test), `/` not escaped,
/// non-ASCII text as UTF-8 (as Python's `ensure_ascii=False`), floats as the shortest text
/// that reads back as the same value. JSON has no NaN or infinity: encode floats with the
/// `encode(number:)` family below, which writes them as `null`.
public enum JSONOutput {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static func encode(_ value: some Encodable) throws -> Data { try encoder.encode(value) }

    /// `value` as one line of JSON text.
    public static func string(_ value: some Encodable) throws -> String { String(decoding: try encode(value), as: UTF8.self) }
}

extension KeyedEncodingContainer {
    /// A float as a JSON number; NaN and the infinities as `null`.
    public mutating func encode<F: BinaryFloatingPoint & Encodable>(number: F, forKey key: Key) throws {
        if number.isFinite { try encode(number, forKey: key) } else { try encodeNil(forKey: key) }
    }

    public mutating func encode<F: BinaryFloatingPoint & Encodable>(numbers: [F], forKey key: Key) throws {
        var container = nestedUnkeyedContainer(forKey: key)
        for number in numbers { try container.encode(number: number) }
    }

    public mutating func encode<F: BinaryFloatingPoint & Encodable>(numberRows rows: [[F]], forKey key: Key) throws {
        var container = nestedUnkeyedContainer(forKey: key)
        for row in rows {
            var nested = container.nestedUnkeyedContainer()
            for number in row { try nested.encode(number: number) }
        }
    }
}

extension UnkeyedEncodingContainer {
    /// A float as a JSON number; NaN and the infinities as `null`.
    public mutating func encode<F: BinaryFloatingPoint & Encodable>(number: F) throws {
        if number.isFinite { try encode(number) } else { try encodeNil() }
    }
}
