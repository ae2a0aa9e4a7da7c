import Foundation
import SharecastFuzzTargets
import Testing

/// Every input in the committed fuzz corpora (seeds and whatever fuzzing found and kept), run
/// once through its target without the fuzzer: an input that once crashed stays a test.
@Suite struct CorpusRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus").path

    static var targets: [String] { FuzzTargets.all.map(\.name) }

    @Test(arguments: targets)
    func everyCorpusInputRunsCleanly(_ target: String) throws {
        let run = try #require(FuzzTargets.named(target))
        let directory = Self.root + "/" + target
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files.count >= 3, "target \(target) has a seed corpus")
        for file in files {
            guard let data = FileManager.default.contents(atPath: directory + "/" + file) else { continue }
            run([UInt8](data))
        }
    }
}
