import Foundation
import SharecastCore

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
        /// A tag's number is not one a live playlist can have (not a number, not finite, negative,
        /// too large, or a sequence that would overflow); `line` counts from 1.
        case badNumber(url: String, line: Int, tag: String, value: String)

        public var description: String {
            switch self {
            case let .notAPlaylist(url): "\(StreamURLDisplay.redacted(url)): not an HLS playlist (no #EXTM3U)"
            case let .noSegmentsOrVariants(url): "\(StreamURLDisplay.redacted(url)): HLS playlist with neither variants nor segments"
            case let .badNumber(url, line, tag, value): "\(StreamURLDisplay.redacted(url)):\(line): \(tag) has an unusable value '\(value.prefix(40))'"
            }
        }
    }

    /// The longest target or segment duration accepted, in seconds. RFC 8216 sets no limit; a day is
    /// far beyond any live stream and keeps every time computed from it finite and small.
    public static let maxDuration = 86_400.0
    /// The highest media sequence accepted: room is left so a segment's number plus any count stays
    /// an `Int` (RFC 8216 allows up to 2^64-1, which no server reaches).
    public static let maxSequence = Int(Int32.max) * 1_000_000

    /// Parses `text` fetched from `url`; relative URIs are resolved against it.
    public static func parse(_ text: String, url: String) throws(ParseError) -> HLSPlaylist {
        // Line numbers count "\r\n" as one break, as editors do.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
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
        for (index, line) in lines.enumerated() where !line.isEmpty {
            let number = index + 1
            if line.hasPrefix("#EXT-X-STREAM-INF:") {
                // An unreadable or absurd bandwidth only ranks the variant last.
                pendingBandwidth = attribute("BANDWIDTH", in: line).flatMap { Int($0) }.map { max(0, $0) } ?? 0
            } else if line.hasPrefix("#EXT-X-TARGETDURATION:") {
                isMedia = true
                let value = line.dropFirst("#EXT-X-TARGETDURATION:".count)
                guard let duration = Self.duration(value), duration > 0 else {
                    throw .badNumber(url: url, line: number, tag: "#EXT-X-TARGETDURATION", value: String(value))
                }
                targetDuration = duration
            } else if line.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") {
                let value = line.dropFirst("#EXT-X-MEDIA-SEQUENCE:".count)
                guard let sequence = Int(value), sequence >= 0, sequence <= Self.maxSequence else {
                    throw .badNumber(url: url, line: number, tag: "#EXT-X-MEDIA-SEQUENCE", value: String(value))
                }
                mediaSequence = sequence
            } else if line.hasPrefix("#EXTINF:") {
                let value = line.dropFirst("#EXTINF:".count).prefix { $0 != "," }
                // Providers write -1 here (the M3U habit); an unusable duration is the target's.
                pendingDuration = Self.duration(value) ?? targetDuration
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
                    // Both are bounded (maxSequence, and a playlist's lines), so the sum cannot overflow.
                    guard segments.count <= Self.maxSequence - mediaSequence else {
                        throw .badNumber(url: url, line: number, tag: "#EXT-X-MEDIA-SEQUENCE", value: String(mediaSequence))
                    }
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

    /// A duration in seconds: finite, not negative, at most `maxDuration`; nil otherwise.
    static func duration(_ text: Substring) -> Double? {
        guard let value = Double(text), value.isFinite, value >= 0, value <= maxDuration else { return nil }
        return value
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
