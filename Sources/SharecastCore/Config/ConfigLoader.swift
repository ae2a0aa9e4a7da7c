import Foundation
import Yams

/// A change to one setting from outside the file: a command-line flag or the like.
public struct ConfigOverride: Sendable, Equatable {
    /// The setting's YAML path, such as `server.port`.
    public var key: String
    public var value: String
    /// Where it came from, for messages: `--port`.
    public var origin: String

    public init(key: String, value: String, origin: String) {
        self.key = key
        self.value = value
        self.origin = origin
    }
}

/// A configuration ready to use, with where it came from and what was odd about it.
public struct LoadedConfig: Sendable {
    public var config: SharecastConfig
    /// The file's path, or `<embedded default>`.
    public var source: String
    /// Things worth a log line that do not stop the server (an unknown `SHARECAST_` variable).
    public var warnings: [String]
}

/// Loads the configuration in layers: defaults, then the YAML file, then `SHARECAST_*` environment
/// variables, then flags. Every value from every layer is validated, and all issues are reported at
/// once, each naming its place, so that nothing starts on a bad configuration.
public enum ConfigLoader {
    /// Variables that are not settings but are read elsewhere, so they are not reported as unknown.
    public static let otherVariables: Set<String> = ["SHARECAST_CONFIG", "SHARECAST_LOG_LEVEL", "SHARECAST_BIN", "SHARECAST_SERVER", "SHARECAST_API_TOKEN"]

    public static let embeddedSourceName = "<embedded default>"

    /// Loads `path`, or the embedded default when `path` is nil.
    public static func load(
        path: String?,
        environment: [String: String] = [:],
        overrides: [ConfigOverride] = []
    ) throws(ConfigError) -> LoadedConfig {
        var issues: [ConfigIssue] = []
        var config: SharecastConfig
        let source: String
        if let path {
            let text: String
            do {
                text = String(decoding: try LocalFile.read(path), as: UTF8.self)
            } catch {
                throw .unreadable(path: path, reason: error.reason)
            }
            source = path
            config = parse(yaml: text, file: path, environment: environment, issues: &issues)
        } else {
            source = embeddedSourceName
            config = parse(yaml: DefaultConfig.yaml, file: source, environment: environment, issues: &issues)
        }

        var warnings: [String] = []
        let settings = ConfigSchema.settings
        for setting in settings {
            guard let raw = environment[setting.environmentName] else { continue }
            if let problem = ConfigSchema.apply(raw, to: setting, in: &config) {
                issues.append(ConfigIssue(location: "environment \(setting.environmentName)", key: setting.path, message: problem))
            }
        }
        let known = Set(settings.map(\.environmentName)).union(otherVariables)
        for name in environment.keys.sorted() where name.hasPrefix("SHARECAST_") && !known.contains(name) {
            warnings.append("environment \(name): not a Sharecast setting; ignored")
        }

        for override in overrides {
            guard let setting = ConfigSchema.setting(override.key) else {
                issues.append(ConfigIssue(location: override.origin, key: override.key, message: "not a setting"))
                continue
            }
            if let problem = ConfigSchema.apply(override.value, to: setting, in: &config) {
                issues.append(ConfigIssue(location: override.origin, key: override.key, message: problem))
            }
        }
        guard issues.isEmpty else { throw .invalid(issues) }
        return LoadedConfig(config: config, source: source, warnings: warnings)
    }

    /// Parses one YAML document; an empty document is the defaults.
    public static func parse(yaml: String, file: String, environment: [String: String] = [:],
                             readsSecretFiles: Bool = true) throws(ConfigError) -> SharecastConfig {
        var issues: [ConfigIssue] = []
        let config = parse(yaml: yaml, file: file, environment: environment, readsSecretFiles: readsSecretFiles, issues: &issues)
        guard issues.isEmpty else { throw .invalid(issues) }
        return config
    }

    static func parse(yaml: String, file: String, environment: [String: String], readsSecretFiles: Bool = true,
                      issues: inout [ConfigIssue]) -> SharecastConfig {
        var config = SharecastConfig()
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            issues.append(syntaxIssue(error, yaml: yaml, file: file))
            return config
        }
        guard let root else { return config }
        var reader = ConfigReader(file: file, environment: environment, readsSecretFiles: readsSecretFiles)
        reader.readSection(root, path: "", into: &config)
        issues += reader.issues
        // Providers and playlists share one name space: the channels' source and id prefix.
        var seen = Set([CatalogChannel.configSource])
        for provider in config.allProviders where !seen.insert(provider.name).inserted {
            issues.append(ConfigIssue(location: file, key: provider.fromPlaylists ? "playlists" : "providers",
                                      message: "the name \(ConfigSchema.quoted(provider.name)) is used twice (providers and playlists share names; \"config\" is taken)"))
        }
        // A provider's guide is a guide source named after it.
        let guided = Set(config.allProviders.filter { $0.guideSource != nil }.map(\.name))
        for source in config.epgSources where guided.contains(source.name) {
            issues.append(ConfigIssue(location: file, key: "epg_sources",
                                      message: "the name \(ConfigSchema.quoted(source.name)) is also a provider's, whose own guide is a source of that name (rename one, or set the provider's epg: false)"))
        }
        return config
    }

    static func syntaxIssue(_ error: any Error, yaml: String, file: String) -> ConfigIssue {
        let (place, message) = YAMLDiagnostics.describe(error, in: yaml)
        return ConfigIssue(location: "\(file):\(place)", key: "", message: message)
    }
}
