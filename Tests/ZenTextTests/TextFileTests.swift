import Foundation
import Testing
@testable import ZenText

@Suite struct TextFileTests {
    @Test func universalNewlinesLikePython() throws {
        let lines = try TextFile.lines(of: Data("a\r\nb\rc\n\nd".utf8), path: "x")
        #expect(lines == ["a", "b", "c", "", "d"])
        #expect(try TextFile.lines(of: Data("a\n".utf8), path: "x") == ["a"])
        #expect(try TextFile.lines(of: Data("\u{FEFF}a\n".utf8), path: "x") == ["\u{FEFF}a"])
    }

    @Test func invalidUTF8NamesTheLine() {
        var bytes = Data("ok\nok\n".utf8)
        bytes.append(contentsOf: [0x61, 0xFF, 0x0A])
        #expect(throws: TextError.invalidUTF8(path: "x", line: 3)) { try TextFile.lines(of: bytes, path: "x") }
    }

    @Test func missingFileAndDirectory() {
        #expect(throws: TextError.unreadableFile(path: "/nonexistent/vocab.txt", reason: "no such file")) {
            try TextFile.lines(at: "/nonexistent/vocab.txt")
        }
        #expect(throws: TextError.unreadableFile(path: "/tmp", reason: "it is a directory")) {
            try TextFile.lines(at: "/tmp")
        }
    }
}
