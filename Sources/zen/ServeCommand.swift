import ArgumentParser
import Foundation
import ZenModel
import ZenServer
import ZenText

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP (classify, ner, embed, fill-mask), batching concurrent requests.",
        discussion: """
        Every model is loaded before the server listens; GET /healthz answers 200 from then on. GET /openapi.yaml \
        documents the API. POST bodies are JSON (Content-Type: application/json, or none). SIGTERM or SIGINT stops \
        accepting connections, answers the requests in flight at once, and exits 0.
        """
    )

    @Option(name: .customLong("model"), help: ArgumentHelp("A model to serve, as NAME=DIR; repeat for several.", valueName: "NAME=DIR"))
    var models: [String]

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port, printed when listening).")
    var port = 8080

    @Option(help: "Maximum tokens per text, [CLS] and [SEP] included (3...4096); longer texts are truncated, except by ner (see --long-texts). Default: each model's max_seq_length (config.json), else 128.")
    var maxSeqLength: Int?

    @OptionGroup var cap: NgramCapOption

    @OptionGroup var long: LongTextsOption

    @Option(help: "Most texts in one encoder batch.")
    var maxBatch = 32

    @Option(help: "How long a request waits for others to join its batch, in milliseconds.")
    var maxWaitMs = 5

    @Option(help: "Largest request body, in bytes (413 above).")
    var maxBodyBytes = 1_048_576

    @Option(help: "Most texts in one request (413 above).")
    var maxTexts = 64

    @Option(help: "Longest text, in Unicode scalars (413 above).")
    var maxTextChars = 4096

    @Option(help: "Most texts waiting for a batch; requests past it get 503 with Retry-After.")
    var queueLimit = 1024

    @Option(help: ArgumentHelp("Seconds a connection has to send a whole request, from its start or its previous answer; past it, a partial request gets 408, and the connection (idle or not) is closed.", valueName: "seconds"))
    var readTimeout = 30.0

    @Option(help: "Most connections open at once; one more gets 503 and is closed. Default: 4096, or the descriptor limit (ulimit -n) less what the server keeps for itself, when lower.")
    var maxConnections: Int?

    @Option(help: "fp32 (exact, the default), bf16 (bfloat16 weights and products, float32 accumulation) or int8 (int8 weights per output channel, inputs per row, int32 accumulation).")
    var precision: Precision = .fp32

    @Option(help: "Fusion matrix weighting: frequency, reference-sequence or none; default: each model's own (ngram_weighting in config.json), else frequency.")
    var weighting: NgramWeighting?

    /// `NAME=DIR` pairs, names unique.
    private var namedDirectories: [(name: String, directory: String)] {
        get throws {
            var seen = Set<String>()
            return try models.map { argument in
                guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex, argument.index(after: equals) != argument.endIndex else {
                    throw ValidationError("--model \(argument): expected NAME=DIR")
                }
                let name = String(argument[..<equals])
                guard seen.insert(name).inserted else { throw ValidationError("--model: the name \"\(name)\" is given twice") }
                return (name, String(argument[argument.index(after: equals)...]))
            }
        }
    }

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one --model NAME=DIR") }
        _ = try namedDirectories
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is not a port number (0...65535)") }
        try validateMaxSeqLength(maxSeqLength)
        if weighting == .referenceToken {
            throw ValidationError("--weighting reference-token applies to token tasks only; the server serves sequence tasks too")
        }
        for (name, value) in [("--max-batch", maxBatch), ("--max-body-bytes", maxBodyBytes), ("--max-texts", maxTexts),
                              ("--max-text-chars", maxTextChars), ("--queue-limit", queueLimit)] where value < 1 {
            throw ValidationError("\(name) must be at least 1 (got \(value))")
        }
        guard maxWaitMs >= 0 else { throw ValidationError("--max-wait-ms must not be negative (got \(maxWaitMs))") }
        guard readTimeout >= 0.001, readTimeout <= 86_400 else {
            throw ValidationError("--read-timeout must be 0.001 to 86400 seconds (got \(readTimeout))")
        }
        if let maxConnections {
            guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1 (got \(maxConnections))") }
            guard maxConnections <= ConnectionLimits.maxConnectionsAllowed else {
                throw ValidationError("--max-connections \(maxConnections) needs more descriptors than the limit allows (ulimit -n \(ConnectionLimits.descriptorLimit), "
                                      + "of which the server keeps \(ConnectionLimits.reservedDescriptors)); raise ulimit -n or choose at most "
                                      + "\(max(0, ConnectionLimits.maxConnectionsAllowed))")
            }
        }
        guard ConnectionLimits.maxConnectionsAllowed >= 1 else {
            throw ValidationError("the descriptor limit (ulimit -n \(ConnectionLimits.descriptorLimit)) leaves no room for connections "
                                  + "(the server keeps \(ConnectionLimits.reservedDescriptors)); raise ulimit -n")
        }
    }

    func run() async throws {
        var served: [ServedModel] = []
        for (name, directory) in try namedDirectories {
            let start = ContinuousClock.now
            do {
                let model = try ZenModel(directory: directory, precision: precision)
                served.append(try ServedModel(name: name, model: model, maxSeqLength: resolvedMaxSeqLength(maxSeqLength, for: model.config),
                                              weighting: weighting,
                                              ngramCap: cap.ngramCap, longTexts: long.longTexts))
            } catch {
                throw CLIError("model \(name) (\(directory)): \(error)")
            }
            let tasks = served.last!.tasks.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("loaded \(name) from \(directory) in \(start.duration(to: .now)): \(tasks)\n".utf8))
        }
        let server = InferenceServer(models: served, configuration: .init(
            host: host, port: port,
            requests: RequestLimits(maxBodyBytes: maxBodyBytes, maxTexts: maxTexts, maxTextChars: maxTextChars),
            batching: .init(maxBatch: maxBatch, maxWait: .milliseconds(maxWaitMs), queueLimit: queueLimit),
            connections: .init(readTimeout: .milliseconds(Int64((readTimeout * 1000).rounded())),
                               maxConnections: maxConnections ?? ConnectionLimits.defaultMaxConnections)))
        let host = host
        do {
            try await server.run(logger: .init(label: "zen.serve")) { port in
                FileHandle.standardError.write(Data("listening on http://\(host):\(port)\n".utf8))
            }
        } catch let error as ListenError {
            throw CLIError(error.description)
        }
    }
}
