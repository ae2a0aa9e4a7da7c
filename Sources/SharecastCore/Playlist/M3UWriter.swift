import Foundation

/// Writes the playlist Sharecast serves: every channel with its attributes and a Sharecast URL.
///
/// M3U has no escaping, so values are made safe instead: double quotes become single quotes inside
/// attributes, and line breaks become spaces. The output reads back through `M3UParser` unchanged.
public enum M3UWriter {
    public struct Item: Sendable {
        public var title: String
        public var url: String
        public var tvgID: String?
        public var tvgName: String?
        public var logo: String?
        public var group: String?
        public var number: Int?

        public init(title: String, url: String, tvgID: String? = nil, tvgName: String? = nil, logo: String? = nil, group: String? = nil,
                    number: Int? = nil) {
            self.title = title
            self.url = url
            self.tvgID = tvgID
            self.tvgName = tvgName
            self.logo = logo
            self.group = group
            self.number = number
        }
    }

    /// `guideURL`: the header's `url-tvg` (and `x-tvg-url`), so players find the guide by themselves.
    public static func write(_ items: [Item], guideURL: String? = nil) -> String {
        var out = guideURL.map { "#EXTM3U url-tvg=\"\(attributeSafe($0))\" x-tvg-url=\"\(attributeSafe($0))\"\n" } ?? "#EXTM3U\n"
        for item in items {
            out += "#EXTINF:-1"
            for (name, value) in [("tvg-id", item.tvgID), ("tvg-name", item.tvgName), ("tvg-logo", item.logo), ("group-title", item.group), ("tvg-chno", item.number.map(String.init))] {
                guard let value, !value.isEmpty else { continue }
                out += " \(name)=\"\(attributeSafe(value))\""
            }
            out += ",\(lineSafe(item.title))\n\(lineSafe(item.url))\n"
        }
        return out
    }

    static func attributeSafe(_ value: String) -> String {
        lineSafe(value).replacingOccurrences(of: "\"", with: "'")
    }

    static func lineSafe(_ value: String) -> String {
        String(value.map { $0.isNewline ? " " : $0 })
    }
}
