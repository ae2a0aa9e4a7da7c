import Foundation
import Logging
import SharecastHTTP
import SharecastTS

/// A live HLS channel for benchmarks and manual tries (`sharecast origin --hls`): the test
/// pattern, padded to a bit rate, cut into segments at its keyframes, served as a media playlist
/// whose window of `window` segments moves on by one every segment duration, as a live origin's
/// does. Segments are made once at start and served from memory.
public final class HLSStandInOrigin: Sendable {
    let server: HTTPServer
    public var port: Int { server.port }

    /// `segmentCount` segments of about `segmentSeconds` each (whole keyframe intervals), looped.
    public init(listen: String = "127.0.0.1", port: Int = 0, targetBitsPerSecond: Int64?, segmentSeconds: Int = 2,
                segmentCount: Int = 30, window: Int = 5, logger: Logger) throws {
        let segments = Self.makeSegments(targetBitsPerSecond: targetBitsPerSecond, seconds: max(segmentSeconds, 1), count: max(segmentCount, window + 1))
        guard !segments.isEmpty else { throw TestOrigin.StartError.noClip }
        let started = ContinuousClock.now
        // Segments end at keyframes, so they last whole keyframe intervals (4 s for the pattern).
        let rate = Double(Self.byteRate(targetBitsPerSecond))
        let duration = max(Double(segments[0].count) / rate, 0.5)
        var router = Router()
        router.get("/live.m3u8") { _ in
            // The newest segment is the one whose time has come; the window ends with it.
            let elapsed = ContinuousClock.now - started
            let newest = window - 1 + Int(Double(elapsed.components.seconds) / duration)
            var text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:\(Int(duration.rounded(.up)))\n#EXT-X-MEDIA-SEQUENCE:\(newest - window + 1)\n"
            for sequence in (newest - window + 1)...newest {
                text += "#EXTINF:\(String(format: "%.3f", duration)),\nseg/\(sequence).ts\n"
            }
            return .text(text, contentType: "application/vnd.apple.mpegurl")
        }
        router.get("/seg/:name") { request in
            guard let name = request.parameters["name"], name.hasSuffix(".ts"), let sequence = Int(name.dropLast(3)), sequence >= 0 else {
                return .notFound()
            }
            return HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t")]), body: .bytes(segments[sequence % segments.count]))
        }
        server = try HTTPServer(configuration: .init(listen: listen, port: port), router: router, logger: logger)
    }

    public func shutdown() {
        server.shutdown()
    }

    /// Bytes a second of the padded pattern (the clip alone is under 1 Mbit/s).
    static func byteRate(_ targetBitsPerSecond: Int64?) -> Int {
        Int(max(targetBitsPerSecond ?? 0, 1_000_000) / 8)
    }

    /// The padded test pattern cut at the first join point (a PAT before a keyframe) after each
    /// `seconds` of stream, so every segment starts where a decoder can.
    static func makeSegments(targetBitsPerSecond: Int64?, seconds: Int, count: Int) -> [[UInt8]] {
        guard let clip = TSClip.testPattern else { return [] }
        var generator = TestPatternGenerator(clip: clip, targetBitsPerSecond: targetBitsPerSecond)
        let rate = byteRate(targetBitsPerSecond)
        var stream = [UInt8](repeating: 0, count: rate * seconds * (count + 2))
        let length = stream.withUnsafeMutableBytes { generator.read(dueBy: .max, into: $0) }
        stream.removeSubrange(length...)
        var joins: [Int] = []
        var scanner = TSPacketAligner()
        stream.withUnsafeMutableBytes { bytes in
            for offset in stride(from: 0, to: bytes.count - bytes.count % 188, by: 188) {
                scanner.feed(UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<(offset + 188)])) { _, join in
                    if let join, Int(join) != joins.last { joins.append(Int(join)) }
                }
            }
        }
        // Cut at the first join point at least `seconds` of stream after the previous cut.
        let span = rate * seconds
        var cuts = [0]
        for join in joins where join - (cuts.last ?? 0) >= span { cuts.append(join) }
        return zip(cuts, cuts.dropFirst()).prefix(count).map { Array(stream[$0..<$1]) }
    }
}
