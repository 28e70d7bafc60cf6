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

    @Test func readsAFIFOToItsEnd() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zen-fifo-\(UUID().uuidString)").path
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        // More than one read's worth, so that the reader has to loop until the writer closes.
        let text = String(repeating: "一行\n", count: 50_000)
        let writer = PeerThread { FileHandle(forWritingAtPath: path)!.write(Data(text.utf8)) }
        #expect(try TextFile.lines(at: path).count == 50_000)
        writer.value()
    }

    /// Every block size gives the lines `lines(at:)` gives, numbered alike, also where a block
    /// ends between the `\r` and `\n` of one terminator or inside a line longer than a block.
    @Test func blocksHoldTheLinesOfTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zen-blocks-\(UUID().uuidString)").path
        let text = "甲乙\r\n\r\nab\rcd\n" + String(repeating: "很长的一行", count: 40) + "\r\n末"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let whole = try TextFile.lines(at: path)
        for blockBytes in [1, 2, 3, 5, 8, 64, 1 << 20] {
            var lines: [String] = []
            var lastBytes = 0
            try TextFile.forEachBlock(at: path, blockBytes: blockBytes) { block, firstLine, bytesRead in
                #expect(firstLine == lines.count + 1)
                #expect(bytesRead > lastBytes)
                lastBytes = bytesRead
                lines += block
            }
            #expect(lines == whole, "blocks of \(blockBytes) bytes")
            #expect(lastBytes == text.utf8.count)
        }
    }

    @Test func blocksNameTheLineThatIsNotUTF8() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zen-blocks-\(UUID().uuidString)").path
        var bytes = Data("ok\r\nok\rok\n".utf8)
        bytes.append(contentsOf: [0x61, 0xFF, 0x0A])
        try bytes.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        for blockBytes in [1, 4, 1 << 20] {
            #expect(throws: TextError.invalidUTF8(path: path, line: 4)) {
                try TextFile.forEachBlock(at: path, blockBytes: blockBytes) { _, _, _ in }
            }
        }
    }

    @Test func sizesOfFilesButNotOfStreams() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zen-size-\(UUID().uuidString)").path
        try Data("甲乙\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        #expect(try TextFile.size(of: path) == 7)
        #expect(try TextFile.size(of: "-") == nil)
        #expect(try TextFile.size(of: "/dev/null") == nil)
        #expect(throws: TextError.unreadableFile(path: "/tmp", reason: "it is a directory")) { try TextFile.size(of: "/tmp") }
        #expect(throws: TextError.unreadableFile(path: path + "x", reason: "no such file")) { try TextFile.size(of: path + "x") }
    }

    @Test func jsonLinesAreNumberedAndBlankLinesSkipped() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zen-lines-\(UUID().uuidString)").path
        try Data("{\"a\": 1}\r\n\n \t\n{\"a\": 2}\r{\"a\": 3}".utf8).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let lines = try TextFile.jsonLines(at: path)
        #expect(lines.map(\.number) == [1, 4, 5])
        #expect(lines.map(\.index) == [0, 1, 2])
        #expect(lines.map(\.text) == [#"{"a": 1}"#, #"{"a": 2}"#, #"{"a": 3}"#])
        #expect(TextFile.displayName(of: "-") == "standard input")
    }
}
