/// A pre-training corpus as token ids: documents of lines (sentences or paragraphs), in the
/// order of the files and their lines.
///
/// In a file, a blank line (empty or whitespace only) ends a document, and so does the end of
/// the file: several files are several sets of documents. A line that tokenizes to nothing (only
/// control characters, say) is left out without ending its document. The tokens of every line
/// are kept in one flat array, so that a corpus of millions of lines costs its token ids and
/// two offsets a line.
public struct PreTrainingCorpus: Sendable {
    /// The files read, as messages name them.
    public let paths: [String]
    private var tokens: [Int32] = []
    /// Line `i` is `tokens[lineStarts[i]..<lineStarts[i + 1]]`.
    private var lineStarts: [Int] = [0]
    /// Document `d` is lines `documentStarts[d]..<documentStarts[d + 1]`.
    private var documentStarts: [Int] = [0]
    /// The document of each line.
    private var lineDocuments: [Int32] = []

    /// Reads and tokenizes `paths` (`-` is standard input); an unreadable file or a line that
    /// is not UTF-8 is an error naming it.
    public init(paths: [String], tokenizer: BertTokenizer) throws(TextError) {
        self.paths = paths.map(TextFile.displayName)
        for path in paths {
            for line in try TextFile.lines(at: path) {
                if line.unicodeScalars.allSatisfy(NgramDictionary.isPythonSpace) {
                    endDocument()
                    continue
                }
                let start = tokens.count
                tokenizer.encode(line, into: &tokens)
                guard tokens.count > start else { continue }
                lineStarts.append(tokens.count)
                lineDocuments.append(Int32(documentStarts.count - 1))
            }
            endDocument()
        }
    }

    private mutating func endDocument() {
        if documentStarts.last! < lineCount { documentStarts.append(lineCount) }
    }

    public var lineCount: Int { lineStarts.count - 1 }
    public var documentCount: Int { documentStarts.count - 1 }
    public var tokenCount: Int { tokens.count }

    /// The token ids of line `line` (0-based over the whole corpus).
    public func tokens(ofLine line: Int) -> ArraySlice<Int32> { tokens[lineStarts[line]..<lineStarts[line + 1]] }

    /// The document that line `line` belongs to.
    public func document(ofLine line: Int) -> Int { Int(lineDocuments[line]) }

    /// The lines of document `document`.
    public func lines(ofDocument document: Int) -> Range<Int> { documentStarts[document]..<documentStarts[document + 1] }
}
