import Testing
@testable import ZenText

/// The tricky corners of spec section 2, on the real vocabulary. Expected tokens were checked
/// against the Python reference tokenizer.
@Suite struct BertTokenizerTests {
    let tokenizer = Fixtures.tokenizer

    @Test(arguments: [
        ("Café RÉSUMÉ", ["cafe", "re", "##su", "##me"]),                  // lower-case, strip accents
        ("e\u{0301}\u{0316}", ["e"]),                                       // marks in any order vanish
        ("İstanbul", ["is", "##tan", "##bu", "##l"]),                       // full lower-casing: İ -> i̇ -> i
        ("ΟΔΟΣ ΣΑ", ["ο", "##δ", "##ο", "##ς", "σ", "##α"]),                // Python's Final_Sigma, per word
        ("\u{F900}\u{F901}", ["豈", "更"]),                                  // CJK compatibility ideographs decompose
        ("한", ["ᄒ", "##ᅡ", "##ᆫ"]),                                        // Hangul syllables decompose to jamo
        ("ﬁne", ["[UNK]"]),                                                 // no compatibility folding
        ("①②", ["①", "##②"]),
        ("$100 ¥1,999.00", ["$", "100", "¥", "##1", ",", "999", ".", "00"]), // ¥ is a symbol, not punctuation
        ("unaffable", ["u", "##na", "##ff", "##able"]),
    ])
    func normalizationAndWordPiece(_ text: String, _ expected: [String]) {
        #expect(tokenizer.tokenize(text) == expected)
    }

    @Test(arguments: [
        ("tab\tnew\nline\rret", ["tab", "new", "line", "re", "##t"]),
        ("a\u{00A0}b\u{3000}c", ["a", "b", "c"]),                           // Zs is whitespace
        ("a\u{2028}b c\u{000B}d", ["a", "b", "cd"]),                        // U+2028 splits; VT is a control, removed
        ("\u{0085}x\u{200D}y", ["x", "##y"]),                               // format characters vanish, joining words
        ("控制\u{0000}字符\u{0007}和\u{200B}零宽\u{FEFF}", ["控", "制", "字", "符", "和", "零", "宽"]),
        ("\u{0897}a", ["a"]),                                               // assigned after Unicode 14: Cn, removed
        ("", []),
        ("  \t\n ", []),
    ])
    func cleaningAndWhitespace(_ text: String, _ expected: [String]) {
        #expect(tokenizer.tokenize(text) == expected)
    }

    @Test func specialTokensPassWholeOnlyWhenExact() {
        #expect(tokenizer.tokenize("[MASK] [mask] [MASK]x") == ["[MASK]", "[", "ma", "##sk", "]", "[", "ma", "##sk", "]", "x"])
        #expect(tokenizer.tokenize("[CLS]你[SEP]") == ["[CLS]", "你", "[SEP]"])
    }

    @Test func longPiecesAreUnknown() {
        #expect(tokenizer.tokenize(String(repeating: "x", count: 101)) == ["[UNK]"])
        let hundred = tokenizer.tokenize(String(repeating: "x", count: 100))
        #expect(!hundred.contains("[UNK]"))
        #expect(hundred.joined().replacingOccurrences(of: "##", with: "") == String(repeating: "x", count: 100))
    }

    @Test func anUnmatchablePositionMakesTheWholePieceUnknown() {
        // "😀" has no piece, so "ab😀" is one [UNK], not "ab" + [UNK].
        #expect(tokenizer.tokenize("ab😀 cd") == ["[UNK]", "cd"])
    }

    @Test func scalarsNotCharacters() {
        // One grapheme cluster, three scalars: the marks are stripped, the flag sequence is [UNK].
        #expect(tokenizer.tokenize("e\u{0301}") == ["e"])
        #expect(tokenizer.tokenize("🇨🇳") == ["[UNK]"])
    }

    @Test func idsAreVocabularyLines() throws {
        let vocabulary = try Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "##b", "a", "c"])
        #expect(vocabulary.id(of: "a") == 6)          // a repeated token maps to its last line
        #expect(vocabulary.token(of: 4) == "a")
        let tokenizer = BertTokenizer(vocabulary: vocabulary)
        #expect(tokenizer.encode("AB c d") == [6, 5, 7, 1])
    }

    @Test func vocabularyNeedsTheSpecialTokens() {
        #expect(throws: TextError.missingSpecialToken(token: "[SEP]", path: "vocab.txt")) {
            try Vocabulary(tokens: ["[UNK]", "[CLS]", "a"])
        }
    }
}
