/// Entities in tag sequences, read and scored exactly as the reference's evaluation does
/// (spec section 6; `fixtures/metrics.jsonl`).

/// How entity tags are written.
public enum TagScheme: String, Sendable, CaseIterable {
    /// `B-X` begins, `I-X` continues; a lone `B-X` is an entity.
    case bio
    /// BIO plus `S-X` for single-character entities; a lone `B-X` is not an entity.
    case bios
    /// `B-X`, `I-X` or `M-X`, `E-X` for entities of several characters, `S-X` for one, read
    /// strictly (an entity must end on its `E-`). Types are optional: word segmentation's
    /// `B`/`M`/`E`/`S` tags are BIOES with no type, and each word an entity.
    case bioes

    /// The scheme a tag set is written in: BIOES if it has `E` or `M` tags, BIOS if it has `S-`
    /// tags, else BIO.
    public static func detect<Tags: Sequence<String>>(_ tags: Tags) -> TagScheme {
        var scheme = TagScheme.bio
        for tag in tags {
            if tag == "E" || tag == "M" || tag.hasPrefix("E-") || tag.hasPrefix("M-") { return .bioes }
            if tag.hasPrefix("S-") { scheme = .bios }
        }
        return scheme
    }
}

/// An entity read from tags; offsets index the input characters, `end` exclusive.
public struct Entity: Sendable, Equatable {
    public var type: String
    public var start: Int
    public var end: Int
    public var text: String

    public init(type: String, start: Int, end: Int, text: String) {
        (self.type, self.start, self.end, self.text) = (type, start, end, text)
    }
}

/// A chunk as the reference's `get_entity_bio`/`get_entity_bios` return it: type, first and
/// last index. Its quirks are kept, because scores must agree with the reference's: an `I-` of
/// another type neither ends nor extends the open chunk, and in BIOS a chunk still without an
/// end is reported when the sequence ends on an `I-` (with `last` -1).
public struct Chunk: Sendable, Hashable {
    public var type: String
    public var first: Int
    public var last: Int

    public static func read(_ tags: [String], scheme: TagScheme) -> [Chunk] {
        if scheme == .bioes { return readStrict(tags) }
        var chunks: [Chunk] = []
        var open: Chunk?
        func closeOpen() {
            if let chunk = open, chunk.last != -1 { chunks.append(chunk) }
            open = nil
        }
        for (index, tag) in tags.enumerated() {
            let isLast = index == tags.count - 1
            let type = tag.split(separator: "-", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            if scheme == .bios, tag.hasPrefix("S-") {
                closeOpen()
                chunks.append(Chunk(type: type, first: index, last: index))
            } else if tag.hasPrefix("B-") {
                closeOpen()
                open = Chunk(type: type, first: index, last: scheme == .bio ? index : -1)
                if scheme == .bio, isLast { chunks.append(open!) }
            } else if tag.hasPrefix("I-"), var chunk = open {
                if type == chunk.type { chunk.last = index }
                open = chunk
                if isLast { chunks.append(chunk) }
            } else {
                closeOpen()
            }
        }
        return chunks
    }

    /// BIOES/BMES: a chunk is `S`, or `B (I|M)* E` of one type; anything else drops the open one.
    private static func readStrict(_ tags: [String]) -> [Chunk] {
        var chunks: [Chunk] = []
        var open: Chunk?
        for (index, tag) in tags.enumerated() {
            let parts = tag.split(separator: "-", maxSplits: 1)
            let (prefix, type) = (parts.first.map(String.init) ?? "", parts.count > 1 ? String(parts[1]) : "")
            switch prefix {
            case "S":
                chunks.append(Chunk(type: type, first: index, last: index))
                open = nil
            case "B":
                open = Chunk(type: type, first: index, last: index)
            case "I", "M":
                if open?.type != type { open = nil }
            case "E":
                if var chunk = open, chunk.type == type {
                    chunk.last = index
                    chunks.append(chunk)
                }
                open = nil
            default:
                open = nil
            }
        }
        return chunks
    }
}

extension Entity {
    /// The entities of one tagged character sequence.
    public static func read(labels: [String], chars: [String], scheme: TagScheme) -> [Entity] {
        Chunk.read(labels, scheme: scheme).filter { $0.last >= $0.first }.map { chunk in
            Entity(type: chunk.type, start: chunk.first, end: chunk.last + 1, text: chars[chunk.first...chunk.last].joined())
        }
    }
}

/// Entity-level precision, recall and F1 over a data set: precision = right / found, recall =
/// right / gold, where a predicted chunk is right when its sentence's gold chunks contain it.
public struct EntityScores: Sendable, Equatable {
    public var found = 0
    public var gold = 0
    public var right = 0

    public var precision: Double { found == 0 ? 0 : Double(right) / Double(found) }
    public var recall: Double { gold == 0 ? 0 : Double(right) / Double(gold) }
    public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }

    /// Micro scores over all sentences, and the same per entity type.
    public static func score(gold: [[String]], predicted: [[String]], scheme: TagScheme) -> (overall: EntityScores, byType: [String: EntityScores]) {
        var overall = EntityScores()
        var byType: [String: EntityScores] = [:]
        for (goldTags, predictedTags) in zip(gold, predicted) {
            let goldChunks = Chunk.read(goldTags, scheme: scheme)
            let predictedChunks = Chunk.read(predictedTags, scheme: scheme)
            for chunk in goldChunks {
                overall.gold += 1
                byType[chunk.type, default: EntityScores()].gold += 1
            }
            for chunk in predictedChunks {
                let isRight = goldChunks.contains(chunk)
                overall.found += 1
                byType[chunk.type, default: EntityScores()].found += 1
                if isRight {
                    overall.right += 1
                    byType[chunk.type, default: EntityScores()].right += 1
                }
            }
        }
        return (overall, byType)
    }
}
