import Foundation
import Testing
import ZenModel

/// `../shared/fixtures/models`, and the reference's outputs for each model there.
enum ModelFixtures {
    static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures/models").path

    static func path(_ model: String) -> String { directory + "/" + model }

    /// `expected.json` of a model.
    static func expected(_ model: String) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path(model) + "/expected.json"),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            fatalError("\(path(model))/expected.json is missing: the tests need ../shared beside the repository")
        }
        return object
    }

    static func cases(_ model: String) -> [[String: Any]] { expected(model)["cases"] as! [[String: Any]] }
    static func maxSeqLength(_ model: String) -> Int { expected(model)["max_seq_length"] as! Int }
}

func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map { $0.floatValue } }
func floatRows(_ value: Any?) -> [[Float]] { (value as! [[NSNumber]]).map { $0.map(\.floatValue) } }

/// The largest absolute difference, or infinity when the shapes differ.
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { maxDifference($0, $1) }.max() ?? 0
}
