import Foundation

/// Reads an XMLTV guide as a stream: each `<channel>` and `<programme>` is handed over as soon as
/// it is closed, so memory holds one element at a time whatever the guide's size.
///
/// Elements that are not XMLTV's are skipped; a programme without a parseable `start` or without
/// a title is skipped and counted (a warning, not a failure). Structure errors (bad XML, a root
/// that is not `<tv>`) and the limits refuse the guide with its position.
public struct XMLTVReader {
    public struct Limits: Sendable {
        /// One `<channel>` or `<programme>` with everything in it.
        public var maxElementBytes = 256 * 1024
        public var maxChildren = 2000
        public var xml = XMLPullParser.Limits()

        public init() {}
    }

    public enum Item: Sendable, Equatable {
        case channel(GuideChannel)
        case programme(GuideProgramme)
    }

    /// A small tree of one top-level element, built from the events inside it.
    struct Node {
        var name: String
        var attributes: [(String, String)]
        var text = ""
        var children: [Node] = []

        func attribute(_ name: String) -> String? {
            attributes.first { $0.0 == name }?.1
        }
    }

    private var parser: XMLPullParser
    private let limits: Limits
    private var depth = 0
    /// The open elements below the top-level one being collected (index 0: that element).
    private var open: [Node] = []
    private var collectedBytes = 0
    private var collectedChildren = 0
    /// Programmes skipped for a missing start, channel or title.
    public private(set) var skipped = 0

    public init(source: String, limits: Limits = Limits()) {
        parser = XMLPullParser(source: source, limits: limits.xml)
        self.limits = limits
    }

    /// The line of the document reached so far.
    public var line: Int { parser.currentLine }

    public mutating func feed(_ bytes: some Collection<UInt8>) {
        parser.feed(bytes)
    }

    public mutating func finish() {
        parser.finish()
    }

    /// The next complete item; nil when more bytes are needed or the guide has ended.
    public mutating func next() throws(GuideError) -> Item? {
        while let event = try parser.next() {
            switch event {
            case let .start(name, attributes, selfClosing):
                depth += 1
                if depth == 1 {
                    guard name == "tv" else { throw parser.error("the root element is <\(name)>, not <tv>") }
                    if selfClosing { depth -= 1 }
                    continue
                }
                if depth == 2 {
                    collectedBytes = 0
                    collectedChildren = 0
                }
                guard depth == 2 ? (name == "channel" || name == "programme") : !open.isEmpty else {
                    if selfClosing { depth -= 1 }
                    continue
                }
                try count(name.utf8.count + attributes.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count })
                collectedChildren += 1
                if collectedChildren > limits.maxChildren { throw parser.error("an element with more than \(limits.maxChildren) elements inside") }
                open.append(Node(name: name, attributes: attributes))
                if selfClosing {
                    depth -= 1
                    if let item = try close() { return item }
                }
            case .end:
                depth -= 1
                guard !open.isEmpty, depth + 1 >= 2 else { continue }
                if let item = try close() { return item }
            case let .text(text):
                guard !open.isEmpty else { continue }
                try count(text.utf8.count)
                open[open.count - 1].text += text
            }
        }
        return nil
    }

    private mutating func count(_ bytes: Int) throws(GuideError) {
        collectedBytes += bytes
        if collectedBytes > limits.maxElementBytes { throw parser.error("a <channel> or <programme> larger than \(limits.maxElementBytes) bytes") }
    }

    /// Closes the innermost collected node; a closed top-level element becomes an item.
    private mutating func close() throws(GuideError) -> Item? {
        guard let node = open.popLast() else { return nil }
        guard open.isEmpty else {
            open[open.count - 1].children.append(node)
            return nil
        }
        switch node.name {
        case "channel":
            guard let id = node.attribute("id"), !id.isEmpty else { return nil }
            let names = node.children.filter { $0.name == "display-name" }.map { trimmed($0.text) }.filter { !$0.isEmpty }
            return .channel(GuideChannel(id: id, displayNames: names, icon: node.children.first { $0.name == "icon" }?.attribute("src")))
        default:
            guard let item = programme(node) else {
                skipped += 1
                return nil
            }
            return .programme(item)
        }
    }

    func programme(_ node: Node) -> GuideProgramme? {
        guard let channel = node.attribute("channel"), !channel.isEmpty, let startText = node.attribute("start"),
              let start = XMLTVTime.parse(startText) else { return nil }
        func texts(_ name: String) -> [LocalizedText] {
            node.children.filter { $0.name == name }.compactMap { child in
                let text = trimmed(child.text)
                return text.isEmpty ? nil : LocalizedText(text, lang: child.attribute("lang"))
            }
        }
        let titles = texts("title")
        guard !titles.isEmpty else { return nil }
        var programme = GuideProgramme(channel: channel, start: start, stop: node.attribute("stop").flatMap(XMLTVTime.parse), titles: titles)
        if let stop = programme.stop, stop <= start { programme.stop = nil }
        programme.subTitles = texts("sub-title")
        programme.descriptions = texts("desc")
        programme.categories = texts("category")
        programme.date = node.children.first { $0.name == "date" }.map { trimmed($0.text) }.flatMap { $0.isEmpty ? nil : $0 }
        programme.icons = node.children.filter { $0.name == "icon" }.compactMap { $0.attribute("src") }
        programme.episodeNumbers = node.children.filter { $0.name == "episode-num" }.compactMap { child in
            let text = trimmed(child.text)
            return text.isEmpty ? nil : LocalizedText(text, lang: child.attribute("system"))
        }
        programme.previouslyShown = node.children.contains { $0.name == "previously-shown" }
        programme.isNew = node.children.contains { $0.name == "new" }
        programme.ratings = node.children.filter { $0.name == "rating" }.compactMap { child in
            guard let value = child.children.first(where: { $0.name == "value" }).map({ trimmed($0.text) }), !value.isEmpty else { return nil }
            return LocalizedText(value, lang: child.attribute("system"))
        }
        return programme
    }

    func trimmed(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
