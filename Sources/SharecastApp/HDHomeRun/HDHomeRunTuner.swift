import Foundation
import Logging
import SharecastCore
import SharecastHDHomeRun
import SharecastHTTP
import SharecastStore
import SharecastStreaming

/// Sharecast as an HDHomeRun network tuner: the HTTP API media servers read (`/discover.json`,
/// `/lineup.json`, ...), the tune URLs `/auto/v<GuideNumber>` that join the same shared sessions
/// as `/stream/<key>`, and the devices the UDP discovery responder announces. The whole catalog
/// is one device; each of `hdhomerun.lineups` is another, under `/hdhr/<name>/`, with its own id.
final class HDHomeRunTuner: Sendable {
    struct Device: Sendable {
        /// nil for the whole catalog.
        let lineup: String?
        let id: HDHomeRunDeviceID
        /// "" or `/hdhr/<name>`.
        let path: String
        /// nil: every group.
        let groups: Set<String>?
    }

    let config: HDHomeRunConfig
    let devices: [Device]
    let deviceAuth: String
    let udn: String
    private let catalog: ChannelCatalog
    private let sessions: SessionManager
    private let maxStreams: Int
    private let publicBaseURL: String

    init(config: SharecastConfig, database: SharecastDatabase, catalog: ChannelCatalog, sessions: SessionManager) throws(StoreError) {
        self.config = config.hdhomerun
        self.catalog = catalog
        self.sessions = sessions
        maxStreams = config.sharedStreaming.maxConcurrentStreams
        publicBaseURL = config.server.publicBaseURL
        let lineups = config.hdhomerun.lineups
        let keys = ["hdhomerun.device_id", "hdhomerun.device_auth", "hdhomerun.udn"] + lineups.map { "hdhomerun.lineup.\($0.name).device_id" }
        let stored = try database.identities(for: keys) { key in
            switch key {
            case "hdhomerun.device_auth": Self.randomToken(24)
            case "hdhomerun.udn": UUID().uuidString.lowercased()
            default: HDHomeRunDeviceID.generate().hex
            }
        }
        // A stored id that no longer passes the check (edited by hand) is replaced in memory only.
        func id(_ key: String) -> HDHomeRunDeviceID {
            stored[key].flatMap(HDHomeRunDeviceID.init(hex:)) ?? HDHomeRunDeviceID.generate()
        }
        devices = [Device(lineup: nil, id: id("hdhomerun.device_id"), path: "", groups: nil)]
            + lineups.map { Device(lineup: $0.name, id: id("hdhomerun.lineup.\($0.name).device_id"), path: "/hdhr/\($0.name)", groups: Set($0.groups)) }
        deviceAuth = stored["hdhomerun.device_auth"] ?? Self.randomToken(24)
        udn = stored["hdhomerun.udn"] ?? UUID().uuidString.lowercased()
    }

    static func randomToken(_ length: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<length).map { _ in alphabet.randomElement() ?? "A" })
    }

    func channels(of device: Device) -> [StoredChannel] {
        catalog.current.channels.filter { stored in stored.channel.number != nil && (device.groups.map { $0.contains(stored.channel.group) } ?? true) }
    }

    /// `hdhomerun.tuner_count`, or the streams the device's channels can have at once: each
    /// provider's logins' limits added up (a source without limits counts as unlimited), capped by
    /// `max_concurrent_streams`.
    func tunerCount(of device: Device) -> Int {
        if config.tunerCount > 0 { return config.tunerCount }
        let sources = Set(channels(of: device).map(\.channel.source))
        let figures = sessions.slots.figures
        var total = 0
        for source in sources {
            guard sessions.slots.manages(source) else { return maxStreams }
            for account in figures where account.provider == source {
                guard let limit = account.limit else { return maxStreams }
                total += min(limit, maxStreams)
                if total >= maxStreams { return maxStreams }
            }
        }
        return max(min(total, maxStreams), 1)
    }

    /// The base of the URLs a request is given: `server.public_base_url`, else its Host.
    func baseURL(_ request: HTTPRequest) -> String? {
        if !publicBaseURL.isEmpty { return publicBaseURL }
        guard let host = request.headers["Host"], PlaylistRoute.isValidHost(host) else { return nil }
        return "http://\(host)"
    }

    static let badHost = HTTPResponse.error(status: 400, code: "bad_host",
                                            message: "the Host header is missing or malformed; set server.public_base_url to serve the tuner")

    /// The routes of every device. Listings go through the playlist gate (they name every
    /// channel), tunes through the stream gate.
    func install(into router: inout Router, gate: SecurityGate) {
        for device in devices {
            let path = device.path
            let label = device.lineup.map { "hdhomerun_lineup_\($0)" } ?? "hdhomerun"
            router.get("\(path)/discover.json", name: "\(label)_discover", gate.playlist { [self] request in
                guard let base = baseURL(request) else { return Self.badHost }
                return .json(discover(device, base: base + path))
            })
            router.get("\(path)/lineup.json", name: "\(label)_lineup", gate.playlist { [self] request in
                guard let base = baseURL(request) else { return Self.badHost }
                return .json(lineup(device, base: base + path))
            })
            router.get("\(path)/lineup_status.json", name: "\(label)_lineup_status", gate.playlist { _ in .json(HDHomeRunViews.LineupStatus()) })
            // Plex starts a "scan" during setup; there is nothing to scan, so it is over at once.
            router.add("POST", "\(path)/lineup.post", name: "\(label)_lineup_post", gate.playlist { request in
                switch request.query["scan"] {
                case "start", "abort": HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(Array("{}".utf8)))
                default: .error(status: 400, code: "bad_scan", message: "lineup.post takes scan=start or scan=abort")
                }
            })
            for page in ["device.xml", "capability"] {
                router.get("\(path)/\(page)", name: "\(label)_device_xml", gate.playlist { [self] request in
                    guard let base = baseURL(request) else { return Self.badHost }
                    let xml = HDHomeRunViews.deviceXML(baseURL: base + path, friendlyName: friendlyName(device), modelNumber: config.modelNumber,
                                                       deviceID: device.id.hex, udn: udn(device))
                    return .text(xml, contentType: "application/xml; charset=utf-8")
                })
            }
            router.get("\(path)/auto/:tune", name: "\(label)_tune", gate.stream { [self] request in
                let requestedAt = ContinuousClock.now
                guard let tune = request.parameters["tune"], let stored = channel(tune: tune, on: device) else { return .notFound() }
                return StreamRoute.answer(stored.channel, request: request, requestedAt: requestedAt, sessions: sessions, flavor: .hdhomerun)
            })
        }
    }

    /// `v<GuideNumber>` of a channel the device lists.
    func channel(tune: String, on device: Device) -> StoredChannel? {
        guard tune.first == "v", let number = Int(tune.dropFirst()), ChannelNumber.range.contains(number),
              let stored = catalog.channel(number: number), device.groups.map({ $0.contains(stored.channel.group) }) ?? true else { return nil }
        return stored
    }

    func friendlyName(_ device: Device) -> String {
        device.lineup.map { "\(config.friendlyName) \($0)" } ?? config.friendlyName
    }

    /// Each device its own UDN, derived from the main one and its id.
    func udn(_ device: Device) -> String {
        device.lineup == nil ? udn : String(udn.dropLast(8)) + device.id.hex.lowercased()
    }

    func discover(_ device: Device, base: String) -> HDHomeRunViews.Discover {
        HDHomeRunViews.Discover(
            FriendlyName: friendlyName(device), Manufacturer: "Sharecast", ModelNumber: config.modelNumber, FirmwareName: "hdhomerun_sharecast",
            FirmwareVersion: SharecastVersion.current, DeviceID: device.id.hex, DeviceAuth: deviceAuth, BaseURL: base,
            LineupURL: base + "/lineup.json", TunerCount: tunerCount(of: device)
        )
    }

    func lineup(_ device: Device, base: String) -> [HDHomeRunViews.LineupEntry] {
        channels(of: device).compactMap { stored in
            stored.channel.number.map { number in
                HDHomeRunViews.LineupEntry(GuideNumber: String(number), GuideName: stored.channel.name, URL: "\(base)/auto/v\(number)",
                                           HD: HDHomeRunViews.isHD(stored.channel.name) ? 1 : 0, VideoCodec: nil, AudioCodec: nil)
            }
        }
    }

    /// The discovery responder for these devices (nil when turned off). A port that cannot be
    /// bound is logged and the server goes on without discovery.
    func makeDiscovery(httpPort: Int, logger: Logger) -> DiscoveryResponder? {
        guard config.discovery.enabled else { return nil }
        let publicBaseURL = self.publicBaseURL
        let main = devices[0], devices = self.devices
        do {
            let responder = try DiscoveryResponder(
                listen: config.discovery.listen, port: config.discovery.port,
                devices: devices.map { DiscoveryResponder.Device(id: $0.id, path: $0.path, deviceAuth: deviceAuth) },
                baseURL: { local in publicBaseURL.isEmpty ? "http://\(local.contains(":") ? "[\(local)]" : local):\(httpPort)" : publicBaseURL },
                tunerCount: { [self] id in tunerCount(of: devices.first { $0.id == id } ?? main) }, logger: logger
            )
            logger.info("HDHomeRun discovery listening", metadata: [
                "address": "\(config.discovery.listen)", "port": "\(responder.port)", "device_id": "\(main.id.hex)",
            ])
            return responder
        } catch {
            logger.error("HDHomeRun discovery is off: its UDP port could not be opened; media servers can still add the tuner by URL", metadata: [
                "error": "\(error)",
            ])
            return nil
        }
    }
}
