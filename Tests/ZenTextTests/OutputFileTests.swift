import Foundation
import Testing
@testable import ZenText

/// `OutputFile`: links written through, devices and FIFOs written into, failures that leave the
/// old file alone and say why.
@Suite final class OutputFileTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("zen-out-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func contents(_ name: String) -> String? {
        FileManager.default.contents(atPath: directory + "/" + name).map { String(decoding: $0, as: UTF8.self) }
    }

    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory).sorted() }

    func fileType(_ name: String) throws -> FileAttributeType? {
        try FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.type] as? FileAttributeType
    }

    @Test func replacesARegularFileKeepingItsPermissions() throws {
        let path = directory + "/out.txt"
        try OutputFile.write(Data("old".utf8), to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        try OutputFile.write(to: path) { file in
            try file.write("new ")
            try file.write(Data("bytes".utf8))
        }
        #expect(contents("out.txt") == "new bytes")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o640)
        #expect(try entries() == ["out.txt"])
    }

    @Test func writesThroughSymbolicLinks() throws {
        try OutputFile.write(Data("old".utf8), to: directory + "/target.txt")
        try FileManager.default.createSymbolicLink(atPath: directory + "/link.txt", withDestinationPath: "target.txt")
        try FileManager.default.createSymbolicLink(atPath: directory + "/chain.txt", withDestinationPath: directory + "/link.txt")
        try OutputFile.write(Data("new".utf8), to: directory + "/chain.txt")
        #expect(contents("target.txt") == "new")
        #expect(try fileType("link.txt") == .typeSymbolicLink)
        #expect(try fileType("chain.txt") == .typeSymbolicLink)
        // A dangling link gets its target created.
        try FileManager.default.createSymbolicLink(atPath: directory + "/dangling.txt", withDestinationPath: "created.txt")
        try OutputFile.write(Data("made".utf8), to: directory + "/dangling.txt")
        #expect(contents("created.txt") == "made")
        #expect(try fileType("dangling.txt") == .typeSymbolicLink)
        #expect(try entries() == ["chain.txt", "created.txt", "dangling.txt", "link.txt", "target.txt"])
    }

    @Test func writesIntoAFIFOWithoutReplacingIt() throws {
        let path = directory + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        // Opening a FIFO for writing waits for a reader.
        let reader = PeerThread { FileHandle(forReadingAtPath: path)!.readDataToEndOfFile() }
        try OutputFile.write(Data("through the pipe".utf8), to: path)
        #expect(String(decoding: reader.value(), as: UTF8.self) == "through the pipe")
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(try entries() == ["pipe"])
    }

    @Test func aFailingBodyLeavesTheOldFileAndNoTemporary() throws {
        struct Stop: Error {}
        let path = directory + "/out.txt"
        try OutputFile.write(Data("old".utf8), to: path)
        #expect(throws: Stop.self) {
            try OutputFile.write(to: path) { file in
                try file.write(String(repeating: "partial ", count: 20_000))
                throw Stop()
            }
        }
        #expect(contents("out.txt") == "old")
        #expect(try entries() == ["out.txt"])
    }

    @Test func errorsNameThePathAndSayWhatToDo() throws {
        let missing = directory + "/missing/out.jsonl"
        #expect(throws: OutputError(path: missing, reason: .missingDirectory(directory + "/missing"))) {
            try OutputFile.write(Data(), to: missing)
        }
        let error = OutputError(path: "out/x.jsonl", reason: .missingDirectory("out")).naming("--output")
        #expect(error.description == "cannot write out/x.jsonl: the directory out does not exist; create it or choose another --output")
        #expect(throws: OutputError(path: directory, reason: .isDirectory)) { try OutputFile.write(Data(), to: directory) }
        try OutputFile.write(Data(), to: directory + "/file")
        #expect(throws: OutputError(path: directory + "/file/x", reason: .notADirectory(directory + "/file"))) {
            try OutputFile.write(Data(), to: directory + "/file/x")
        }
        #expect(throws: OutputError(path: "", reason: .emptyPath)) { try OutputFile.write(Data(), to: "") }
        try FileManager.default.createSymbolicLink(atPath: directory + "/loop", withDestinationPath: "loop")
        #expect(throws: OutputError(path: directory + "/loop", reason: .tooManyLinks)) { try OutputFile.write(Data(), to: directory + "/loop") }
    }
}
