import ArgumentParser
import Foundation
import ZenText

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the tokens, ids and n-grams of a text."
    )

    @Option(help: "Directory holding vocab.txt (and ngram.txt, to show the n-grams found).")
    var model: String

    @Argument(help: "The text.")
    var text: String

    func run() throws {
        let tokenizer = try BertTokenizer(vocabularyAt: model + "/vocab.txt")
        let vocabulary = tokenizer.vocabulary
        let ids = [vocabulary.classifierId] + tokenizer.encode(text) + [vocabulary.separatorId]
        let tokens = ids.map(vocabulary.token(of:))
        print("\(ids.count) tokens")
        let width = String(ids.count - 1).count
        for (index, (token, id)) in zip(tokens, ids).enumerated() {
            let position = String(index)
            print(String(repeating: " ", count: width - position.count) + position + "  " + String(id).padding(toLength: 6) + token)
        }
        let ngramPath = model + "/ngram.txt"
        guard FileManager.default.fileExists(atPath: ngramPath) else { return }
        let ngrams = try NgramDictionary(contentsOf: ngramPath, tokenizer: tokenizer)
        let matches = ngrams.matches(in: ids[...])
        print("\(matches.count) n-grams")
        for match in matches {
            let text = tokens[Int(match.start)..<Int(match.start + match.length)].joined(separator: " ")
            print("  id \(match.id)  tokens \(match.start)..<\(match.start + match.length)  freq \(match.frequency)  \(text)")
        }
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self + " " : self + String(repeating: " ", count: length - count)
    }
}
