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
            func setSecret(_ text: String, _ value: Node, _ full: String) {
                if UserConfig.isValidSecret(text) {
                    user.secret = Secret(text)
                } else {
                    report(value, full, "expected at least 22 characters of A-Z, a-z, 0-9, '-' and '_' (128 bits); leave it out to have one generated")
                    valid = false
                }
            }
            for (field, keyNode, value) in fields {
                let full = "\(key).\(field)"
                switch field {
                case "name":
                    guard let name = scalarText(value, full, expecting: "expected a name") else { valid = false; continue }
                    if !Self.isValidProviderName(name) {
                        report(value, full, "expected letters, digits, '_' or '-' (at most 32), got \(ConfigSchema.quoted(name))")
                        valid = false
                    } else if !names.insert(name).inserted {
                        report(value, full, "duplicate user name \(ConfigSchema.quoted(name))")
                        valid = false
                    }
                    user.name = name
                case "secret":
                    secrets += 1
                    guard let text = scalarText(value, full, expecting: "expected a string") else { valid = false; continue }
                    setSecret(text, value, full)
                case "secret_file":
                    secrets += 1
                    guard let path = scalarText(value, full, expecting: "expected a file path") else { valid = false; continue }
                    switch secretFile(path) {
                    case let .success(secret): readsSecretFiles ? setSecret(secret.value, value, full) : ()
                    case let .failure(problem): report(value, full, problem); valid = false
                    }
                case "secret_env":
                    secrets += 1
                    guard let name = scalarText(value, full, expecting: "expected an environment variable's name") else { valid = false; continue }
                    if let text = environment[name], !text.isEmpty { setSecret(text, value, full) } else {
                        report(value, full, "environment variable \(name) is not set or empty")
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
