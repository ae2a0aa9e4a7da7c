/// The labels of one series, with their exposition form rendered once.
///
/// A scrape of a busy server writes the same `channel="…"` thousands of times; rendering and
/// escaping it when the series is made (a channel's counters, a registered handle) instead of on
/// every scrape is what keeps the encoder to a copy per label set. One reference inside, so
/// passing a label set around costs one retain at most.
public struct LabelSet: Sendable, Equatable, ExpressibleByArrayLiteral {
    final class Storage: Sendable {
        let pairs: [(name: String, value: String)]
        /// `name="escaped value",…` without braces, as both text formats write it.
        let rendered: [UInt8]

        init(pairs: [(name: String, value: String)], rendered: [UInt8]) {
            self.pairs = pairs
            self.rendered = rendered
        }
    }

    let storage: Storage

    public static let empty = LabelSet([])

    public init(_ pairs: [(String, String)]) {
        let writer = ByteWriter()
        for (index, pair) in pairs.enumerated() {
            if index > 0 { writer.append(UInt8(ascii: ",")) }
            writer.append(pair.0)
            writer.append(UInt8(ascii: "="))
            writer.append(UInt8(ascii: "\""))
            writer.appendLabelValue(pair.1)
            writer.append(UInt8(ascii: "\""))
        }
        storage = Storage(pairs: pairs.map { (name: $0.0, value: $0.1) }, rendered: writer.bytes)
    }

    public init(arrayLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public var pairs: [(name: String, value: String)] { storage.pairs }
    public var isEmpty: Bool { storage.pairs.isEmpty }
    var rendered: [UInt8] { storage.rendered }

    /// The value of the label `name`, if the set has it.
    public subscript(name: String) -> String? {
        storage.pairs.first { $0.name == name }?.value
    }

    public static func == (a: LabelSet, b: LabelSet) -> Bool {
        a.storage.rendered == b.storage.rendered
    }
}
