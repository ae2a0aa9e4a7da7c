import Yams

/// `hdhomerun.lineups:`: filtered lineups, each a name and the groups it holds.
extension ConfigReader {
    static let lineupKeys = ["name", "groups"]

    mutating func readLineups(_ node: Node) -> [HDHomeRunLineupConfig] {
        var result: [HDHomeRunLineupConfig] = []
        var names = Set<String>()
        for (index, item) in items(node, "hdhomerun.lineups").enumerated() {
            let key = "hdhomerun.lineups[\(index)]"
            guard let fields = pairs(item, key) else { continue }
            var lineup = HDHomeRunLineupConfig(name: "", groups: [])
            var valid = true
            for (field, keyNode, value) in fields {
                let full = "\(key).\(field)"
                switch field {
                case "name":
                    guard let name = readName(value, full, kind: "lineup", names: &names) else { valid = false; continue }
                    lineup.name = name
                case "groups":
                    for (position, groupNode) in items(value, full).enumerated() {
                        if let group = scalarText(groupNode, "\(full)[\(position)]", expecting: "expected a group name") { lineup.groups.append(group) } else { valid = false }
                    }
                    if lineup.groups.isEmpty { report(value, full, "expected at least one group"); valid = false }
                default:
                    unknownKey(keyNode, full, field, allowed: Self.lineupKeys)
                    valid = false
                }
            }
            if !fields.contains(where: { $0.name == "name" }) { report(item, key, "missing required key \"name\""); valid = false }
            if !fields.contains(where: { $0.name == "groups" }) { report(item, key, "missing required key \"groups\""); valid = false }
            if valid { result.append(lineup) }
        }
        return result
    }
}
