import Foundation

/// Per-scalar facts the BERT basic tokenizer asks about, precomputed for the Basic Multilingual
/// Plane so that the hot loop is a table lookup; scalars above it (emoji, CJK extensions) are rare
/// and computed on the spot from the same definitions.
///
/// Every definition follows the reference (Google BERT's `tokenization.py`, Python `unicodedata`):
/// - removed: U+0000, U+FFFD, and general category C* other than tab, line feed and carriage return;
/// - whitespace: space, tab, LF, CR and category Zs, plus the two scalars Python's `str.split()`
///   also splits on that survive cleaning (U+2028, U+2029);
/// - punctuation: ASCII 33–47, 58–64, 91–96, 123–126 and category P*;
/// - CJK: the ideograph blocks of the reference's `_is_chinese_char`;
/// - normalized: `unicodedata.normalize("NFD", ch.lower())` with every Mn scalar dropped.
///
/// Scalars assigned after `referenceUnicodeVersion` count as unassigned (category Cn, so removed):
/// the reference runs on Python, whose `unicodedata` lags the Unicode data in Swift's runtime.
struct ScalarTable: Sendable {
    /// The Unicode version of Python 3.11's `unicodedata` (Python 3.12 and 3.13 have 15.0 and 15.1).
    static let referenceUnicodeVersion: Unicode.Version = (14, 0)

    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        static let removed = Flags(rawValue: 1 << 0)
        static let whitespace = Flags(rawValue: 1 << 1)
        static let punctuation = Flags(rawValue: 1 << 2)
        static let cjk = Flags(rawValue: 1 << 3)
        /// Normalizes to itself: lower-casing and NFD leave it alone and it is not Mn.
        static let identity = Flags(rawValue: 1 << 4)
        /// Its normalized form depends on its neighbours: capital sigma (Python's Final_Sigma rule),
        /// or a mark that NFD's canonical reordering could move past another surviving mark.
        static let contextual = Flags(rawValue: 1 << 5)
    }

    static let shared = ScalarTable()
    static let planeSize = 0x10000

    private let flags: [Flags]
    /// CSR layout of each BMP scalar's normalized form: `pool[offsets[s] ..< offsets[s + 1]]`.
    private let offsets: [UInt32]
    private let pool: [UInt32]

    private init() {
        var flags = [Flags](repeating: [], count: Self.planeSize)
        var offsets = [UInt32](repeating: 0, count: Self.planeSize + 1)
        var pool: [UInt32] = []
        pool.reserveCapacity(Self.planeSize + 4096)
        for value in 0..<UInt32(Self.planeSize) {
            offsets[Int(value)] = UInt32(pool.count)
            guard let scalar = Unicode.Scalar(value) else {
                flags[Int(value)] = .removed   // surrogate code points never occur in a String
                continue
            }
            let normalized = Self.computeNormalized(scalar)   // the costly part of start-up: once a scalar
            flags[Int(value)] = Self.computeFlags(scalar, normalized: normalized)
            pool.append(contentsOf: normalized)
        }
        offsets[Self.planeSize] = UInt32(pool.count)
        self.flags = flags
        self.offsets = offsets
        self.pool = pool
    }

    @inline(__always)
    func flags(_ value: UInt32) -> Flags {
        guard value >= Self.planeSize else { return flags[Int(value)] }
        let scalar = Unicode.Scalar(value)!
        return Self.computeFlags(scalar, normalized: Self.computeNormalized(scalar))
    }

    /// Appends the normalized form of one scalar, ignoring context (see `.contextual`).
    @inline(__always)
    func appendNormalized(_ value: UInt32, to output: inout [UInt32]) {
        if value < Self.planeSize {
            let range = Int(offsets[Int(value)])..<Int(offsets[Int(value) + 1])
            output.append(contentsOf: pool[range])
        } else {
            output.append(contentsOf: Self.computeNormalized(Unicode.Scalar(value)!))
        }
    }

    // MARK: - Definitions

    /// The flags of `scalar`, whose `computeNormalized` form is `normalized`.
    static func computeFlags(_ scalar: Unicode.Scalar, normalized: [UInt32]) -> Flags {
        let value = scalar.value
        let properties = scalar.properties
        var flags: Flags = []
        let category = properties.generalCategory
        if value == 0x20 || value == 0x09 || value == 0x0A || value == 0x0D
            || category == .spaceSeparator || value == 0x2028 || value == 0x2029 {
            flags.insert(.whitespace)
        } else if value == 0 || value == 0xFFFD || isOtherCategory(category) || !isAssignedInReference(properties) {
            flags.insert(.removed)
        }
        if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value)
            || (123...126).contains(value) || isPunctuationCategory(category) {
            flags.insert(.punctuation)
        }
        if isCJK(value) { flags.insert(.cjk) }
        if normalized == [value] { flags.insert(.identity) }
        if value == 0x03A3 || normalized.contains(where: { isReorderableSurvivor($0) }) {
            flags.insert(.contextual)
        }
        return flags
    }

    static func isAssignedInReference(_ properties: Unicode.Scalar.Properties) -> Bool {
        guard let age = properties.age else { return false }
        return age <= referenceUnicodeVersion
    }

    static func isCJK(_ value: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value)
            || (0x20000...0x2A6DF).contains(value) || (0x2A700...0x2B73F).contains(value)
            || (0x2B740...0x2B81F).contains(value) || (0x2B820...0x2CEAF).contains(value)
            || (0xF900...0xFAFF).contains(value) || (0x2F800...0x2FA1F).contains(value)
    }

    static func computeNormalized(_ scalar: Unicode.Scalar) -> [UInt32] {
        if scalar.value < 0x80 {
            let value = scalar.value
            return [(0x41...0x5A).contains(value) ? value + 0x20 : value]
        }
        return stripMarks(nfd(scalar.properties.lowercaseMapping))
    }

    /// `normalize("NFD", word.lower())` without Mn, for a whole word: the path for words holding a
    /// `.contextual` scalar, where the per-scalar table is not enough.
    static func normalizeWord(_ word: ArraySlice<UInt32>) -> [UInt32] {
        var lowered = String.UnicodeScalarView()
        for index in word.indices {
            let scalar = Unicode.Scalar(word[index])!
            if scalar.value == 0x03A3 {
                lowered.append(isFinalSigma(at: index, in: word) ? "\u{03C2}" : "\u{03C3}")
            } else {
                lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return stripMarks(nfd(String(lowered)))
    }

    /// Python's Final_Sigma test: cased, case-ignorable*, Σ, and not (case-ignorable*, cased).
    private static func isFinalSigma(at index: Int, in word: ArraySlice<UInt32>) -> Bool {
        func properties(_ i: Int) -> Unicode.Scalar.Properties { Unicode.Scalar(word[i])!.properties }
        var before = index - 1
        while before >= word.startIndex && properties(before).isCaseIgnorable { before -= 1 }
        guard before >= word.startIndex, properties(before).isCased else { return false }
        var after = index + 1
        while after < word.endIndex && properties(after).isCaseIgnorable { after += 1 }
        return after == word.endIndex || !properties(after).isCased
    }

    private static func nfd(_ string: String) -> String {
        string.decomposedStringWithCanonicalMapping
    }

    private static func stripMarks(_ string: String) -> [UInt32] {
        string.unicodeScalars.compactMap { $0.properties.generalCategory == .nonspacingMark ? nil : $0.value }
    }

    /// A scalar kept by the Mn filter whose position NFD's canonical ordering may change.
    private static func isReorderableSurvivor(_ value: UInt32) -> Bool {
        let properties = Unicode.Scalar(value)!.properties
        return properties.canonicalCombiningClass.rawValue != 0 && properties.generalCategory != .nonspacingMark
    }

    private static func isOtherCategory(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    private static func isPunctuationCategory(_ category: Unicode.GeneralCategory) -> Bool {
        switch category {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }
}
