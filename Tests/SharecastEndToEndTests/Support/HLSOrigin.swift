import Foundation
import Logging
import SharecastHTTP
import SharecastTS
import Synchronization
import SharecastSync

/// A live HLS origin for tests: the test pattern cut into 2 s segments at its keyframes, served
/// through a sliding window of three that moves on every `advance`, behind a master playlist with
/// two variants. It counts every segment fetch and can fail chosen playlist requests.
final class HLSOrigin: Sendable {
    final class Counters: Sendable {
        let fetches = Locked<[Int: Int]>([:])
        let playlistRequests = Atomic<Int>(0)
    }

    let segments: [[UInt8]]
    let server: HTTPServer
    let counters = Counters()
    /// Fetches per segment index.
    var fetches: [Int: Int] { counters.fetches.withLock { $0 } }
    var playlistRequests: Int { counters.playlistRequests.load(ordering: .relaxed) }

    init(advance: Duration = .seconds(1), failingPlaylistRequests: Set<Int> = [], discontinuityBefore: Int? = nil) throws {
        segments = Self.makeSegments(count: 40)
        let started = ContinuousClock.now
        let segments = self.segments
        let counters = self.counters
        var router = Router()
        router.get("/master.m3u8") { _ in
            .text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nlow.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=640x360\nlive.m3u8\n",
                  contentType: "application/vnd.apple.mpegurl")
        }
        router.get("/live.m3u8") { _ in
            let number = counters.playlistRequests.add(1, ordering: .relaxed).newValue
            if failingPlaylistRequests.contains(number) {
                return .error(status: 500, code: "boom", message: "injected failure")
            }
            let elapsed = ContinuousClock.now - started
            let first = min(Int(elapsed / advance), segments.count - 3)
            var text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:\(first)\n"
            for index in first..<(first + 3) {
                if index == discontinuityBefore { text += "#EXT-X-DISCONTINUITY\n" }
                text += "#EXTINF:2.000,\nseg/\(index).ts\n"
            }
            return .text(text, contentType: "application/vnd.apple.mpegurl")
        }
        router.get("/seg/:name") { request in
            guard let name = request.parameters["name"], name.hasSuffix(".ts"), let index = Int(name.dropLast(3)),
                  segments.indices.contains(index) else { return .notFound() }
            counters.fetches.withLock { $0[index, default: 0] += 1 }
            return HTTPResponse(headers: HTTPHeaders([("Content-Type", "video/mp2t")]), body: .bytes(segments[index]))
        }
        var logger = Logger(label: "hls-origin")
        logger.logLevel = .critical
        server = try HTTPServer(configuration: .init(listen: "127.0.0.1", port: 0), router: router, logger: logger)
    }

    var port: Int { server.port }

    /// The test pattern's continuous stream, cut at each join point (the PAT before a keyframe).
    static func makeSegments(count: Int) -> [[UInt8]] {
        guard let clip = TSClip.testPattern else { return [] }
        var generator = TestPatternGenerator(clip: clip)
        var stream = [UInt8](repeating: 0, count: clip.bytes.count * (count / 4 + 2))
        let length = stream.withUnsafeMutableBytes { generator.read(dueBy: .max, into: $0) }
        stream.removeSubrange(length...)
        // Fed a packet at a time, the aligner reports every join point.
        var cuts: [Int] = [0]
        var scanner = TSPacketAligner()
        var scratch = stream
        scratch.withUnsafeMutableBytes { bytes in
            for offset in stride(from: 0, to: bytes.count, by: 188) {
                scanner.feed(UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<(offset + 188)])) { _, join in
                    if let join, join > 0, Int(join) != cuts.last { cuts.append(Int(join)) }
                }
            }
        }
        cuts.append(stream.count)
        return zip(cuts, cuts.dropFirst()).prefix(count).map { Array(stream[$0..<$1]) }
    }

    func shutdown() {
        server.shutdown()
    }
}
