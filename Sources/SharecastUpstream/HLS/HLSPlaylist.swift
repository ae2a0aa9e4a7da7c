import Foundation

/// The parts of an HLS playlist (RFC 8216) that live restreaming needs.
public enum HLSPlaylist: Equatable, Sendable {
    case master([Variant])
    case media(Media)

    public struct Variant: Equatable, Sendable {
        public var url: String
        public var bandwidth: Int
    }

    public struct Segment: Equatable, Sendable {
        public var sequence: Int
        public var url: String
        public var duration: Double
        /// `#EXT-X-DISCONTINUITY` came before this segment: timestamps and counters restart.
        public var discontinuity: Bool
    }

    public struct Media: Equatable, Sendable {
        public var targetDuration: Double
        public var mediaSequence: Int
        public var segments: [Segment]
        /// `#EXT-X-ENDLIST`: no more segments will come.
        public var ended: Bool
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notAPlaylist(String)
        case noSegmentsOrVariants(String)

        public var description: String {
            switch self {
            case let .notAPlaylist(url): "\(url): not an HLS playlist (no #EXTM3U)"
            case let .noSegmentsOrVariants(url): "\(url): HLS playlist with neither variants nor segments"
            }
        }
    }

    /// Parses `text` fetched from `url`; relative URIs are resolved against it.
    public static func parse(_ text: String, url: String) throws(ParseError) -> HLSPlaylist {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first(where: { !$0.isEmpty })?.hasPrefix("#EXTM3U") == true else { throw .notAPlaylist(url) }
        var variants: [Variant] = []
        var segments: [Segment] = []
        var targetDuration = 6.0
        var mediaSequence = 0
        var ended = false
        var pendingBandwidth: Int?
        var pendingDuration: Double?
        var pendingDiscontinuity = false
        var isMedia = false
        for line in lines where !line.isEmpty {
            if line.hasPrefix("#EXT-X-STREAM-INF:") {
                pendingBandwidth = attribute("BANDWIDTH", in: line).flatMap { Int($0) } ?? 0
            } else if line.hasPrefix("#EXT-X-TARGETDURATION:") {
                isMedia = true
                targetDuration = Double(line.dropFirst("#EXT-X-TARGETDURATION:".count)) ?? targetDuration
            } else if line.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") {
                mediaSequence = Int(line.dropFirst("#EXT-X-MEDIA-SEQUENCE:".count)) ?? 0
            } else if line.hasPrefix("#EXTINF:") {
                let value = line.dropFirst("#EXTINF:".count).prefix { $0 != "," }
                pendingDuration = Double(value) ?? targetDuration
            } else if line.hasPrefix("#EXT-X-DISCONTINUITY"), !line.hasPrefix("#EXT-X-DISCONTINUITY-SEQUENCE") {
                pendingDiscontinuity = true
            } else if line.hasPrefix("#EXT-X-ENDLIST") {
                ended = true
            } else if !line.hasPrefix("#") {
                let resolved = resolve(line, against: url)
                if let bandwidth = pendingBandwidth {
                    variants.append(Variant(url: resolved, bandwidth: bandwidth))
                    pendingBandwidth = nil
                } else {
                    segments.append(Segment(
                        sequence: mediaSequence + segments.count, url: resolved,
                        duration: pendingDuration ?? targetDuration, discontinuity: pendingDiscontinuity
                    ))
                    pendingDuration = nil
                    pendingDiscontinuity = false
                }
            }
        }
        if !variants.isEmpty { return .master(variants) }
        // A live playlist may have no segments yet, but it always has a target duration.
        guard isMedia else { throw .noSegmentsOrVariants(url) }
        return .media(Media(targetDuration: targetDuration, mediaSequence: mediaSequence, segments: segments, ended: ended))
    }

    /// An attribute's value from an attribute list (`BANDWIDTH=1280000,RESOLUTION=...`).
    static func attribute(_ name: String, in line: String) -> String? {
        guard let range = line.range(of: name + "=") else { return nil }
        var value = line[range.upperBound...]
        if value.hasPrefix("\"") {
            value = value.dropFirst()
            return String(value.prefix { $0 != "\"" })
        }
        return String(value.prefix { $0 != "," })
    }

    static func resolve(_ reference: String, against base: String) -> String {
        if reference.hasPrefix("http://") || reference.hasPrefix("https://") { return reference }
        guard let baseURL = URL(string: base), let resolved = URL(string: reference, relativeTo: baseURL) else { return reference }
        return resolved.absoluteString
    }
}
