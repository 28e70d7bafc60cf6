import Foundation
import Testing

/// Every ```swift block of README.md compiles against the package's libraries as built for this
/// test run.
///
/// Each block is compiled on its own as the main file of a program, with `swiftc -c` (type
/// checking and the SIL diagnostics that `-typecheck` skips, warnings as errors), against the
/// module files that `swift build` already wrote next to this test bundle. That needs no
/// network and no second package resolution (a throwaway package depending on this one by path
/// would resolve and build every dependency again), and takes seconds. Nothing is linked or run:
/// the model directories in the snippets are placeholders. A `#sourceLocation` line maps the
/// compiler's messages back to README.md, so a failure names the README line.
@Suite struct ReadmeSnippetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let readme = root.appendingPathComponent("README.md")

    /// The build products directory: where the test bundle is, and `swift build` put the modules.
    static let products: URL = {
        var directory = Bundle.main.bundleURL
        if directory.pathExtension == "xctest" { directory.deleteLastPathComponent() }
        return directory
    }()

    struct Snippet: CustomTestStringConvertible, Sendable {
        /// The README line of the first line of code.
        var line: Int
        var code: String
        var testDescription: String { "README.md line \(line)" }
    }

    /// The ```swift blocks of README.md, in order.
    static let snippets: [Snippet] = {
        guard let text = try? String(contentsOf: readme, encoding: .utf8) else { return [] }
        var snippets: [Snippet] = []
        var current: Snippet?
        for (index, line) in text.components(separatedBy: "\n").enumerated() {
            if var snippet = current {
                if line.trimmingCharacters(in: .whitespaces) == "```" {
                    snippets.append(snippet)
                    current = nil
                } else {
                    snippet.code += line + "\n"
                    current = snippet
                }
            } else if line.trimmingCharacters(in: .whitespaces) == "```swift" {
                current = Snippet(line: index + 2, code: "")
            }
        }
        return snippets
    }()

    @Test func readmeHasSwiftSnippets() {
        #expect(Self.snippets.count >= 2, "no ```swift blocks found in \(Self.readme.path)")
    }

    @Test(arguments: snippets)
    func snippetCompiles(_ snippet: Snippet) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zen-readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("main.swift")
        try ("#sourceLocation(file: \"\(Self.readme.path)\", line: \(snippet.line))\n" + snippet.code)
            .write(to: source, atomically: true, encoding: .utf8)
        let result = try Self.swiftc(["-c", source.path, "-o", directory.appendingPathComponent("main.o").path,
                                      "-module-name", "ReadmeSnippet", "-swift-version", "6", "-warnings-as-errors",
                                      "-module-cache-path", directory.appendingPathComponent("cache").path]
                                     + Self.searchPaths())
        #expect(result.status == 0, "README.md line \(snippet.line): the snippet does not compile:\n\(result.output)")
    }

    /// Where the imported modules are: the Swift modules SwiftPM wrote, and the module maps of
    /// the C modules they import (SwiftPM passes these to its own compiler calls): the ones it
    /// generated for C targets, and the ones its dependencies' C targets bring. Not the copies
    /// built for plugin tools (`-tool.build`), which would define their modules twice.
    static func searchPaths() -> [String] {
        let files = FileManager.default
        func directories(in directory: URL) -> [URL] {
            ((try? files.contentsOfDirectory(atPath: directory.path)) ?? []).sorted().map { directory.appendingPathComponent($0) }
        }
        let products = Self.products.resolvingSymlinksInPath()
        let checkouts = products.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("checkouts")
        let generated = directories(in: products).filter { $0.lastPathComponent.hasSuffix(".build") && !$0.lastPathComponent.hasSuffix("-tool.build") }
            .map { $0.appendingPathComponent("module.modulemap") }
        let own = ([root] + directories(in: checkouts)).flatMap { directories(in: $0.appendingPathComponent("Sources")) }
            .flatMap { [$0.appendingPathComponent("module.modulemap"), $0.appendingPathComponent("include/module.modulemap")] }
        return ["-I", products.appendingPathComponent("Modules").path, "-I", products.path]
            + (generated + own).filter { files.fileExists(atPath: $0.path) }.flatMap { ["-Xcc", "-fmodule-map-file=" + $0.path] }
    }

    /// Runs the `swiftc` on PATH, the compiler `swift test` itself runs from.
    static func swiftc(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swiftc"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
