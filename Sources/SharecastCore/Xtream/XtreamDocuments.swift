import Foundation

/// The account part of `player_api.php?username=&password=`: whether the login works, until when,
/// and how many streams it may hold.
public struct XtreamAccountInfo: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable {
        case active, expired, banned, disabled, refused, unknown
    }

    public var status: Status
    /// The panel's own words (`Active`, `Banned`, a message), for people.
    public var statusText: String
    public var expiresAt: Date?
    public var maxConnections: Int?
    public var activeConnections: Int?
    public var isTrial: Bool

    public init(status: Status, statusText: String, expiresAt: Date? = nil, maxConnections: Int? = nil,
                activeConnections: Int? = nil, isTrial: Bool = false) {
        self.status = status
        self.statusText = statusText
        self.expiresAt = expiresAt
        self.maxConnections = maxConnections
        self.activeConnections = activeConnections
        self.isTrial = isTrial
    }
}

public struct XtreamCategory: Sendable, Equatable {
    public var id: String
    public var name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// One live stream of `get_live_streams`.
public struct XtreamStream: Sendable, Equatable {
    public var streamID: Int
    public var name: String
    /// `num`: the panel's channel number.
    public var number: Int?
    public var categoryID: String?
    public var epgChannelID: String?
    public var icon: String?

    public init(streamID: Int, name: String, number: Int? = nil, categoryID: String? = nil, epgChannelID: String? = nil, icon: String? = nil) {
        self.streamID = streamID
        self.name = name
        self.number = number
        self.categoryID = categoryID
        self.epgChannelID = epgChannelID
        self.icon = icon
    }
}

/// Why an Xtream document could not be read at all (a bad entry is a warning, not an error).
public struct XtreamError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `player_api.php`, `get_live_streams`, ...
    public var document: String
    public var reason: String
    public var description: String { "\(document): \(reason)" }
}

/// Reads the JSON of an Xtream Codes panel. Every field is optional and converted with checks;
/// an entry that cannot be used is skipped with a warning naming it (`get_live_streams[17]: no
/// stream_id`), and only a document that is not the expected JSON at all is an error, so one bad
/// entry never costs the catalog.
public enum XtreamParser {
    /// Decodes anything JSON and keeps going: an element that does not decode is `nil`.
    struct Lossy<Value: Decodable>: Decodable {
        let value: Value?
        init(from decoder: any Decoder) throws {
            value = try? Value(from: decoder)
        }
    }

    struct AccountDocument: Decodable {
        struct UserInfo: Decodable {
            let auth: XtreamScalar?
            let status: XtreamScalar?
            let message: XtreamScalar?
            let exp_date: XtreamScalar?
            let max_connections: XtreamScalar?
            let active_cons: XtreamScalar?
            let is_trial: XtreamScalar?
        }

        let user_info: Lossy<UserInfo>?
    }

    struct CategoryEntry: Decodable {
        let category_id: XtreamScalar?
        let category_name: XtreamScalar?
    }

    struct StreamEntry: Decodable {
        let stream_id: XtreamScalar?
        let name: XtreamScalar?
        let num: XtreamScalar?
        let category_id: XtreamScalar?
        let epg_channel_id: XtreamScalar?
        let stream_icon: XtreamScalar?
        let stream_type: XtreamScalar?
    }

    /// Names longer than this are cut (a provider's bug, not a channel name).
    static let maxTextLength = 512

    /// `player_api.php` without an action. A login the panel refuses (`auth: 0`, or a document
    /// without `user_info`, as some panels answer a wrong password) is status `refused`.
    public static func accountInfo(_ bytes: [UInt8]) throws(XtreamError) -> XtreamAccountInfo {
        let document = "player_api.php"
        let parsed: AccountDocument = try decode(AccountDocument.self, bytes, document: document)
        guard let info = parsed.user_info?.value else {
            return XtreamAccountInfo(status: .refused, statusText: "the panel sent no user_info (wrong username or password)")
        }
        let text = info.status?.nonEmptyText.map { String($0.prefix(80)) } ?? ""
        var status: XtreamAccountInfo.Status
        switch text.lowercased() {
        case "active": status = .active
        case "expired": status = .expired
        case "banned": status = .banned
        case "disabled": status = .disabled
        default: status = .unknown
        }
        if let auth = info.auth, !auth.isTrue { status = .refused }
        // exp_date: Unix seconds, as a string or a number; null or 0 for "never".
        let expiry = info.exp_date?.integer(in: 1...253_402_300_799).map { Date(timeIntervalSince1970: TimeInterval($0)) }
        if status == .active, let expiry, expiry < Date() { status = .expired }
        let message = info.message?.nonEmptyText.map { String($0.prefix(200)) }
        return XtreamAccountInfo(
            status: status, statusText: message.map { text.isEmpty ? $0 : "\(text): \($0)" } ?? (text.isEmpty ? status.rawValue : text),
            expiresAt: expiry, maxConnections: info.max_connections?.integer(in: 0...10_000),
            activeConnections: info.active_cons?.integer(in: 0...10_000), isTrial: info.is_trial?.isTrue ?? false
        )
    }

    public static func categories(_ bytes: [UInt8]) throws(XtreamError) -> (categories: [XtreamCategory], warnings: [String]) {
        let document = "get_live_categories"
        let entries = try decode([Lossy<CategoryEntry>].self, bytes, document: document)
        var result: [XtreamCategory] = []
        var warnings: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let entry = entry.value, let id = entry.category_id?.nonEmptyText else {
                warnings.append("\(document)[\(index)]: no category_id")
                continue
            }
            result.append(XtreamCategory(id: String(id.prefix(maxTextLength)), name: String((entry.category_name?.nonEmptyText ?? "").prefix(maxTextLength))))
        }
        return (result, warnings)
    }

    public static func streams(_ bytes: [UInt8]) throws(XtreamError) -> (streams: [XtreamStream], warnings: [String]) {
        let document = "get_live_streams"
        let entries = try decode([Lossy<StreamEntry>].self, bytes, document: document)
        var result: [XtreamStream] = []
        result.reserveCapacity(entries.count)
        var warnings: [String] = []
        var seen = Set<Int>()
        for (index, entry) in entries.enumerated() {
            guard let entry = entry.value else {
                warnings.append("\(document)[\(index)]: not an object")
                continue
            }
            guard let id = entry.stream_id?.integer(in: 0...Int(Int32.max)) else {
                warnings.append("\(document)[\(index)]: no usable stream_id (\(entry.stream_id?.text.map { String($0.prefix(40)) } ?? "missing"))")
                continue
            }
            guard seen.insert(id).inserted else {
                warnings.append("\(document)[\(index)]: stream_id \(id) repeated")
                continue
            }
            if let type = entry.stream_type?.nonEmptyText?.lowercased(), !["live", "created_live", "radio_streams"].contains(type) {
                continue
            }
            let name = entry.name?.nonEmptyText.map { String($0.prefix(maxTextLength)) } ?? "Stream \(id)"
            result.append(XtreamStream(
                streamID: id, name: name, number: entry.num?.integer(in: 0...999_999),
                categoryID: entry.category_id?.nonEmptyText.map { String($0.prefix(maxTextLength)) },
                epgChannelID: entry.epg_channel_id?.nonEmptyText.map { String($0.prefix(maxTextLength)) },
                icon: entry.stream_icon?.nonEmptyText.flatMap { $0.hasPrefix("http://") || $0.hasPrefix("https://") ? String($0.prefix(2048)) : nil }
            ))
        }
        return (result, warnings)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], document: String) throws(XtreamError) -> T {
        guard let first = bytes.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF) }) else {
            throw XtreamError(document: document, reason: "empty answer")
        }
        guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else {
            let start = String(decoding: bytes.prefix(40), as: UTF8.self).filter { !$0.isNewline }
            throw XtreamError(document: document, reason: "not JSON (it starts with \(ConfigSchema.quoted(start))); an error page?")
        }
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw XtreamError(document: document, reason: "unexpected JSON at \(path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            throw XtreamError(document: document, reason: "invalid JSON: \(context.debugDescription.prefix(200))")
        } catch {
            throw XtreamError(document: document, reason: "invalid JSON")
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.isEmpty ? "the top level" : codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}
