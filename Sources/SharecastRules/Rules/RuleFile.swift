import Foundation
import Yams
import SharecastCore

/// A rule that could not be loaded, with where: `file:line:column`, group and rule when known.
public struct RuleLoadError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public var group: String?
    public var rule: String?
    public var message: String

    public var description: String {
        var place = "\(file):\(line):\(column)"
        if let group { place += ": group \"\(group)\"" }
        if let rule { place += ", rule \"\(rule)\"" }
        return "\(place): \(message)"
    }
}

/// One recording or alerting rule, parsed and checked.
public struct Rule: Sendable {
    public enum Kind: Sendable, Equatable {
        case alert(String)
        case record(String)
    }

    public var kind: Kind
    public var query: Query
    /// Milliseconds.
    public var holdDuration: Int64 = 0
    public var keepFiringFor: Int64 = 0
    public var labels: [String: String] = [:]
    public var annotations: [String: String] = [:]
    var labelTemplates: [String: Template] = [:]
    var annotationTemplates: [String: Template] = [:]

    public var name: String {
        switch kind {
        case let .alert(name), let .record(name): name
        }
    }
}

public struct RuleGroup: Sendable {
    public var name: String
    public var file: String
    /// Milliseconds; nil uses the global evaluation interval.
    public var interval: Int64?
    public var rules: [Rule]
}

/// Reads Prometheus rule files (the same files a Prometheus loads) into groups, reporting every
/// problem with file:line:column, group and rule.
public enum RuleFileLoader {
    public static func load(paths: [String]) throws(RuleLoadErrors) -> [RuleGroup] {
        var groups: [RuleGroup] = []
        var errors: [RuleLoadError] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                errors.append(RuleLoadError(file: path, line: 1, column: 1, message: "cannot read the file"))
                continue
            }
            let bytes = [UInt8](data)
            if let (place, byte) = TextPlace.firstInvalidUTF8(in: bytes) {
                let hex = String(byte, radix: 16, uppercase: true)
                errors.append(RuleLoadError(file: path, line: place.line, column: place.column, message: "not UTF-8 text: byte 0x\(hex)"))
                continue
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let (found, problems) = parse(text, file: path)
            groups += found
            errors += problems
        }
        if !errors.isEmpty { throw RuleLoadErrors(errors: errors) }
        return groups
    }

    public static func parse(_ text: String, file: String) -> ([RuleGroup], [RuleLoadError]) {
        var errors: [RuleLoadError] = []
        func fail(_ node: Node?, _ message: String, group: String? = nil, rule: String? = nil) {
            errors.append(RuleLoadError(file: file, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1, group: group, rule: rule, message: message))
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            let (place, message) = YAMLDiagnostics.describe(error, in: text)
            return ([], [RuleLoadError(file: file, line: place.line, column: place.column, message: message)])
        }
        guard let root, case let .mapping(top) = root else {
            if root != nil { fail(root, "expected a mapping with \"groups\"") }
            return ([], errors)
        }
        var groups: [RuleGroup] = []
        var seen = Set<String>()
        for (keyNode, value) in top {
            guard keyNode.string == "groups" else {
                fail(keyNode, "unknown key \"\(keyNode.string ?? "?")\" (expected groups)")
                continue
            }
            guard case let .sequence(list) = value else {
                fail(value, "groups must be a list")
                continue
            }
            for groupNode in list {
                guard case let .mapping(groupMap) = groupNode else {
                    fail(groupNode, "a group must be a mapping")
                    continue
                }
                var group = RuleGroup(name: "", file: file, interval: nil, rules: [])
                var rulesNode: Node?
                for (key, item) in groupMap {
                    switch key.string {
                    case "name": group.name = item.string ?? ""
                    case "interval":
                        guard let text = item.string, let duration = Lexer.parseDuration(text), duration > 0 else {
                            fail(item, "interval must be a duration such as 1m", group: group.name)
                            continue
                        }
                        group.interval = duration
                    case "rules": rulesNode = item
                    case "limit", "query_offset": break
                    default: fail(key, "unknown key \"\(key.string ?? "?")\" in a group", group: group.name)
                    }
                }
                guard !group.name.isEmpty else {
                    fail(groupNode, "a group needs a name")
                    continue
                }
                if !seen.insert(group.name).inserted {
                    fail(groupNode, "group name \"\(group.name)\" is repeated in the same file", group: group.name)
                }
                guard let rulesNode, case let .sequence(ruleList) = rulesNode else {
                    fail(rulesNode ?? groupNode, "a group needs a list of rules", group: group.name)
                    continue
                }
                for ruleNode in ruleList {
                    if let rule = parseRule(ruleNode, group: group.name, fail: fail) { group.rules.append(rule) }
                }
                groups.append(group)
            }
        }
        return (groups, errors)
    }

    static func parseRule(_ node: Node, group: String, fail: (Node?, String, String?, String?) -> Void) -> Rule? {
        guard case let .mapping(map) = node else {
            fail(node, "a rule must be a mapping", group, nil)
            return nil
        }
        var alert: String?, record: String?, exprNode: Node?
        var forNode: Node?, keepNode: Node?, labelsNode: Node?, annotationsNode: Node?
        for (key, value) in map {
            switch key.string {
            case "alert": alert = value.string
            case "record": record = value.string
            case "expr": exprNode = value
            case "for": forNode = value
            case "keep_firing_for": keepNode = value
            case "labels": labelsNode = value
            case "annotations": annotationsNode = value
            default: fail(key, "unknown key \"\(key.string ?? "?")\" in a rule", group, alert ?? record)
            }
        }
        let name = alert ?? record
        guard (alert == nil) != (record == nil) else {
            fail(node, "a rule needs exactly one of alert and record", group, name)
            return nil
        }
        if let record, !record.unicodeScalars.allSatisfy({ Lexer.isLetter($0) || Lexer.isDigit($0) || $0 == "_" || $0 == ":" }) || record.isEmpty {
            fail(node, "invalid recording rule name \"\(record)\"", group, name)
        }
        guard let exprNode, let text = exprNode.string else {
            fail(node, "a rule needs expr", group, name)
            return nil
        }
        let query: Query
        do {
            query = try Query(text)
        } catch {
            // Point at the expression's line; the column inside the expression is in the message.
            fail(exprNode, "expr: \(error.description)", group, name)
            return nil
        }
        var rule = Rule(kind: alert.map { .alert($0) } ?? .record(record ?? ""), query: query)
        func duration(_ node: Node?, _ key: String) -> Int64 {
            guard let node else { return 0 }
            guard let text = node.string, let value = Lexer.parseDuration(text) else {
                fail(node, "\(key) must be a duration such as 5m", group, name)
                return 0
            }
            return value
        }
        rule.holdDuration = duration(forNode, "for")
        rule.keepFiringFor = duration(keepNode, "keep_firing_for")
        if record != nil, forNode != nil || keepNode != nil || annotationsNode != nil {
            fail(node, "for, keep_firing_for and annotations belong to alerting rules", group, name)
        }
        func strings(_ node: Node?, _ key: String) -> [String: String] {
            guard let node else { return [:] }
            guard case let .mapping(map) = node else {
                fail(node, "\(key) must be a mapping of strings", group, name)
                return [:]
            }
            var result: [String: String] = [:]
            for (k, v) in map {
                guard let keyText = k.string, let valueText = v.string else {
                    fail(k, "\(key) must be a mapping of strings", group, name)
                    continue
                }
                result[keyText] = valueText
            }
            return result
        }
        rule.labels = strings(labelsNode, "labels")
        rule.annotations = strings(annotationsNode, "annotations")
        for (key, value) in rule.labels {
            guard Parser.isLabelName(key) else {
                fail(labelsNode, "invalid label name \"\(key)\"", group, name)
                continue
            }
            do { rule.labelTemplates[key] = try Template(value) } catch { fail(labelsNode, "label \(key): \(error.description)", group, name) }
        }
        for (key, value) in rule.annotations {
            do { rule.annotationTemplates[key] = try Template(value) } catch { fail(annotationsNode, "annotation \(key): \(error.description)", group, name) }
        }
        return rule
    }
}

/// Every problem of a set of rule files.
public struct RuleLoadErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [RuleLoadError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension Node {
    var string: String? {
        if case let .scalar(scalar) = self { return scalar.string }
        return nil
    }
}
