import Foundation
import Synchronization
import SharecastSync

/// A player stand-in: one HTTP/1.0 GET over a raw socket, read on its own thread so tests can run
/// many at once, pause one (a client that stops reading) or hang one up.
final class Viewer: @unchecked Sendable {
    struct Received {
        var head: [UInt8] = []
        var body: [UInt8] = []
        var headComplete = false
        var ended = false
        var error: String?
    }

    let socket: LoopbackSocket
    private let received = Locked(Received())
    let paused = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    init(port: Int, path: String, receiveBufferBytes: Int32? = nil, source: String? = nil) throws {
        socket = try LoopbackSocket(port: port, receiveTimeoutSeconds: 0, receiveBufferBytes: receiveBufferBytes, source: source)
        try socket.send("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: viewer-test\r\n\r\n")
        let thread = Thread { [self] in run() }
        thread.start()
    }

    private func run() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        defer { finished.store(true, ordering: .releasing) }
        while !stopping.load(ordering: .acquiring) {
            if paused.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: 0.01)
                continue
            }
            do {
                guard let count = try socket.receiveSome(into: &chunk) else { continue }
                if count == 0 {
                    received.withLock { $0.ended = true }
                    return
                }
                received.withLock { state in
                    if state.headComplete {
                        state.body += chunk[0..<count]
                    } else {
                        state.head += chunk[0..<count]
                        if let end = state.head.firstRange(of: [13, 10, 13, 10]) {
                            state.body = Array(state.head[end.upperBound...])
                            state.head = Array(state.head[..<end.upperBound])
                            state.headComplete = true
                        }
                    }
                }
            } catch {
                received.withLock {
                    $0.ended = true
                    $0.error = "\(error)"
                }
                return
            }
        }
    }

    var bodyCount: Int { received.withLock { $0.body.count } }
    var body: [UInt8] { received.withLock { $0.body } }
    var ended: Bool { received.withLock { $0.ended } }

    /// The status code from the response head, once it has arrived.
    var status: Int? {
        received.withLock { state in
            guard state.headComplete else { return nil }
            let line = String(decoding: state.head.prefix { $0 != 13 }, as: UTF8.self)
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        }
    }

    func header(_ name: String) -> String? {
        received.withLock { state in
            let text = String(decoding: state.head, as: UTF8.self)
            for line in text.split(separator: "\r\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    /// Hangs up and waits for the reading thread to stop.
    func close() {
        stopping.store(true, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.005) }
        socket.hangUp()
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { Thread.sleep(forTimeInterval: 0.005) }
    }
}
