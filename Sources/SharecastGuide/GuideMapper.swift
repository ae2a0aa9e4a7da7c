/// Which served guide channels (a catalog channel's tvg-id, or its id when it has none) a
/// guide's channel feeds: the guide channel whose id is a catalog tvg-id (exactly, else ignoring
/// case), else the catalog channels whose name matches one of its display names once normalised
/// (`normalisedName`), else none (counted as unmapped). A target with an override (`epg.mappings`)
/// takes part in none of this: it gets the programmes of exactly the guide channel it names.
public struct GuideMapper: Sendable {
    /// A catalog channel as the mapper sees it.
    public struct Target: Sendable {
        public var servedID: String
        public var name: String
        public var tvgID: String?
        /// The guide channel id configured for this channel; "" for none; nil to match by itself.
        public var override: String?

        public init(servedID: String, name: String, tvgID: String?, override: String? = nil) {
            self.servedID = servedID
            self.name = name
            self.tvgID = tvgID
            self.override = override
        }
    }

    private var byTvgID: [String: Set<String>] = [:]
    private var byFoldedTvgID: [String: Set<String>] = [:]
    private var byName: [String: Set<String>] = [:]
    private var byOverride: [String: Set<String>] = [:]
    /// Guide channel id to served ids, learnt from `<channel>` elements and cached.
    private var learnt: [String: [String]] = [:]
    public let servedIDs: Set<String>

    public init(targets: [Target]) {
        let overridden = Set(targets.filter { $0.override != nil }.map(\.servedID))
        for target in targets {
            if let guideID = target.override {
                if !guideID.isEmpty { byOverride[guideID, default: []].insert(target.servedID) }
                continue
            }
            // A served id one channel overrides is not matched for the others that share it.
            guard !overridden.contains(target.servedID) else { continue }
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
        let forced = byOverride[channel.id] ?? []
        if let direct = direct(channel.id) {
            learnt[channel.id] = forced.union(direct).sorted()
            return
        }
        var served = forced
        for name in channel.displayNames { served.formUnion(byName[Self.normalisedName(name)] ?? []) }
        learnt[channel.id] = served.sorted()
    }

    /// The served ids programmes of guide channel `id` go to.
    public mutating func served(for id: String) -> [String] {
        if let known = learnt[id] { return known }
        let found = (byOverride[id] ?? []).union(direct(id) ?? []).sorted()
        learnt[id] = found
        return found
    }

    private func direct(_ id: String) -> Set<String>? {
        byTvgID[id] ?? byFoldedTvgID[id.lowercased()]
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
