import ArgumentParser
import Foundation
import ZenModel
import ZenText

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a pytorch_model.bin (torch.save, zip or legacy format) to model.safetensors.",
        discussion: "Tensor names, dtypes and values are kept as they are; the output loads in Python's safetensors."
    )

    @Option(help: "pytorch_model.bin to read.")
    var input: String

    @Option(help: "model.safetensors to write (- for standard output).")
    var output: String

    func run() throws {
        let tensors = try TorchCheckpoint.read(input)
        do {
            try SafeTensors.write(tensors.map { (name: $0.key, data: $0.value) }, to: output)
        } catch let error as OutputError {
            throw error.naming("--output")
        }
        let bytes = tensors.values.reduce(0) { $0 + $1.bytes.count }
        // On standard error: standard output may be the file itself.
        FileHandle.standardError.write(Data("wrote \(tensors.count) tensors (\(bytes) bytes) to \(OutputFile.displayName(of: output))\n".utf8))
    }
}
