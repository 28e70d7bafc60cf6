import Testing
import ZenText

@Suite struct TokenWindowTests {
    static let text = "中华人民共和国成立于一九四九年，北京是中国的首都，上海是中国的经济中心。"

    static func words(_ text: String) -> [String] { text.unicodeScalars.map { String($0) } }

    @Test func wordsThatFitAreOneWindow() throws {
        let builder = Fixtures.builder(maxSeqLength: 128)
        let words = Self.words(Self.text)
        let windows = try builder.tokenWindows(words: words)
        #expect(windows == [TokenWindow(firstWord: 0, features: try builder.tokenFeatures(words: words))])
        #expect(try builder.tokenWindows(words: []).map(\.wordCount) == [0])
    }

    @Test func longWordsRunInOverlappingWindows() throws {
        let builder = Fixtures.builder(maxSeqLength: 12)               // 10 tokens a window
        // Spaces make no token and cost no room; "unaffable" is 4 tokens.
        let words = Self.words(Self.text) + [" ", "unaffable", " "] + Self.words("我们明天去上海。")
        let windows = try builder.tokenWindows(words: words)
        #expect(windows.count > 1)
        #expect(windows.first?.firstWord == 0)
        #expect(windows.last.map { $0.firstWord + $0.wordCount } == words.count)
        for (window, next) in zip(windows, windows.dropFirst()) {
            // Each next window starts inside this one, at most half a window before its end.
            let end = window.firstWord + window.wordCount
            #expect(window.firstWord < next.firstWord && next.firstWord < end)
            let overlap = words[next.firstWord..<end].map { Fixtures.tokenizer.encode($0).count }.reduce(0, +)
            #expect(overlap <= 5)
        }
        for window in windows {
            // Every window is the features of its words on their own, and fits.
            let own = Array(words[window.firstWord..<window.firstWord + window.wordCount])
            #expect(window.features == (try builder.tokenFeatures(words: own)))
            #expect(window.features.inputIds.count <= 12)
        }
    }

    @Test func aWordLongerThanAWindowEndsTheWindows() throws {
        let builder = Fixtures.builder(maxSeqLength: 5)                // 3 tokens a window
        let words = ["我", "们", "好", "unaffable", "你"]
        let windows = try builder.tokenWindows(words: words)
        #expect(windows.last.map { $0.firstWord + $0.wordCount } == 3)
        #expect(windows.map(\.firstWord) == [0])
        // Nothing fits: one empty window, as tokenFeatures gives.
        #expect(try builder.tokenWindows(words: ["unaffable", "你"]) == [TokenWindow(firstWord: 0, features: try builder.tokenFeatures(words: ["unaffable", "你"]))])
    }
}
