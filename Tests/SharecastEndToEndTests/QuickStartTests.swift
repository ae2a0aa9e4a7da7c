import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The quick start, as a user runs it: the real binary on the embedded default configuration,
/// checked with the real ffprobe and ffmpeg.
@Suite struct QuickStartTests {
    @Test func embeddedDefaultServesATestChannelThatFFmpegDecodesAcrossLoopPoints() async throws {
        let ffprobe = try Tools.require("ffprobe"), ffmpeg = try Tools.require("ffmpeg")
        let directory = try TemporaryDirectory()
        let server = try ChildProcess(Tools.sharecast, ["serve", "--port", "0", "--database", directory.file("db.sqlite")], directory: directory.path)
        let port = try await listeningPort(of: server)

        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/playlist.m3u")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let playlist = String(decoding: data, as: UTF8.self)
        #expect(playlist.hasPrefix("#EXTM3U\n#EXTINF:-1 group-title=\"Sharecast\" tvg-chno=\"1\",Test Pattern\n"))
        let streamURL = try #require(playlist.split(separator: "\n").first { $0.hasPrefix("http://127.0.0.1:\(port)/stream/") }.map(String.init))

        let probe = try await ChildProcess.run(ffprobe, [
            "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height", "-of", "default=nw=1", streamURL,
        ], timeout: .seconds(30))
        #expect(probe.status == 0)
        #expect(probe.stdout.contains("codec_name=h264"))
        #expect(probe.stdout.contains("width=640"))

        // 25 s spans three loop points of the 8 s clip. At -v warning ffmpeg reports continuity
        // errors and corrupt packets (at -v error it stays silent about them), and there must be none.
        let decode = try await ChildProcess.run(ffmpeg, [
            "-hide_banner", "-nostats", "-v", "warning", "-i", streamURL, "-t", "25", "-f", "null", "-progress", "pipe:1", "-",
        ], timeout: .seconds(60))
        #expect(decode.status == 0)
        #expect(decode.stderr.isEmpty, "ffmpeg reported: \(decode.stderr)")
        let frames = decode.stdout.split(separator: "\n").last { $0.hasPrefix("frame=") }.flatMap { Int($0.dropFirst(6)) } ?? 0
        #expect(frames >= 24 * 25, "decoded \(frames) frames")

        server.signal(SIGTERM)
        #expect(try await server.waitForExit(timeout: .seconds(10)) == 0)
        #expect(server.stderr.contains("stopped"))
    }
}

/// Reads the bound port from the server's "listening" log line.
func listeningPort(of server: ChildProcess) async throws -> Int {
    let line = try await server.waitForLine(containing: "listening")
    let port = line.split(separator: " ").first { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst(5)) }
    return try #require(port, "no port in: \(line)")
}
