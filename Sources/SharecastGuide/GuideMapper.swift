/// Which served guide channels (a catalog channel's tvg-id, or its id when it has none) a
/// guide's channel feeds: the guide channel whose id is a catalog tvg-id (exactly, else ignoring
/// case), else the catalog channels whose name matches one of its display names once normalised
/// (`normalisedName`), else none (counted as unmapped).
public struct GuideMapper: Sendable {
    /// A catalog channel as the mapper sees it.
    public struct Target: Sendable {
        public var servedID: String
        public var name: String
        public var tvgID: String?

        public init(servedID: String, name: String, tvgID: String?) {
            self.servedID = servedID
            self.name = name
            self.tvgID = tvgID
        }
    }

    private var byTvgID: [String: Set<String>] = [:]
    private var byFoldedTvgID: [String: Set<String>] = [:]
    private var byName: [String: Set<String>] = [:]
    /// Guide channel id to served ids, learnt from `<channel>` elements and cached.
    private var learnt: [String: [String]] = [:]
    public let servedIDs: Set<String>

    public init(targets: [Target]) {
        for target in targets {
            if let tvg = target.tvgID, !tvg.isEmpty {
                byTvgID[tvg, default: []].insert(target.servedID)
                byFoldedTvgID[tvg.lowercased(), default: []].insert(target.servedID)
            }
            let name = Self.normalisedName(target.name)
            if !name.isEmpty { byName[name, default: []].insert(target.servedID) }
        }
        servedIDs = Set(targets.map(\.servedID))
    }

    /// Maps a `<channel>` by its id, else by its display names.
    public mutating func learn(_ channel: GuideChannel) {
        if let direct = direct(channel.id) {
            learnt[channel.id] = direct
            return
        }
        var served = Set<String>()
        for name in channel.displayNames { served.formUnion(byName[Self.normalisedName(name)] ?? []) }
        learnt[channel.id] = served.sorted()
    }

    /// The served ids programmes of guide channel `id` go to.
    public mutating func served(for id: String) -> [String] {
        if let known = learnt[id] { return known }
        let found = direct(id) ?? []
        learnt[id] = found
        return found
    }

    private func direct(_ id: String) -> [String]? {
        if let exact = byTvgID[id] { return exact.sorted() }
        if let folded = byFoldedTvgID[id.lowercased()] { return folded.sorted() }
        return nil
    }

    /// Lower case, letters and digits only, without the quality words providers add
    /// (HD, FHD, UHD, SD, 4K, HEVC): "BBC One HD" and "bbc one" are the same channel; "+1" stays.
    public static func normalisedName(_ name: String) -> String {
        let lowered = name.lowercased()
        var words: [String] = []
        var word = ""
        for character in lowered {
            if character.isLetter || character.isNumber {
                word.append(character)
            } else {
                if !word.isEmpty { words.append(word) }
                word = character == "+" ? "+" : ""
            }
        }
        if !word.isEmpty { words.append(word) }
        let noise: Set<String> = ["hd", "fhd", "uhd", "sd", "4k", "hevc", "h265", "1080p", "720p"]
        return words.filter { !noise.contains($0) }.joined()
    }
}
