import Yams

/// `users:`: each user with an optional secret (inline, from a file or the environment), limit
/// and groups.
extension ConfigReader {
    static let userKeys = ["name", "secret", "secret_file", "secret_env", "max_streams", "groups"]

    mutating func readUsers(_ node: Node) -> [UserConfig] {
        var result: [UserConfig] = []
        var names = Set<String>()
        for (index, item) in items(node, "users").enumerated() {
            let key = "users[\(index)]"
            guard let fields = pairs(item, key) else { continue }
            var user = UserConfig(name: "")
            var valid = true
            var secrets = 0
            for (field, keyNode, value) in fields {
                let full = "\(key).\(field)"
                switch field {
                case "name":
                    guard let name = readName(value, full, kind: "user", names: &names) else { valid = false; continue }
                    user.name = name
                case "secret", "secret_file", "secret_env":
                    secrets += 1
                    guard let secret = readSecret(field, value, full) else { valid = false; continue }
                    // The fuzz target reads no files: a placeholder stands for the file's secret.
                    if field == "secret_file", !readsSecretFiles { continue }
                    if UserConfig.isValidSecret(secret.value) {
                        user.secret = secret
                    } else {
                        report(value, full, "expected at least 22 characters of A-Z, a-z, 0-9, '-' and '_' (128 bits); leave it out to have one generated")
                        valid = false
                    }
                case "max_streams":
                    user.maxStreams = readCount(value, full)
                    if user.maxStreams == nil { valid = false }
                case "groups":
                    for (position, groupNode) in items(value, full).enumerated() {
                        if let group = scalarText(groupNode, "\(full)[\(position)]", expecting: "expected a group name") { user.groups.append(group) } else { valid = false }
                    }
                default:
                    unknownKey(keyNode, full, field, allowed: Self.userKeys)
                    valid = false
                }
            }
            if !fields.contains(where: { $0.name == "name" }) { report(item, key, "missing required key \"name\""); valid = false }
            if secrets > 1 { report(item, key, "give one of secret, secret_file and secret_env"); valid = false }
            if valid { result.append(user) }
        }
        return result
    }
}
