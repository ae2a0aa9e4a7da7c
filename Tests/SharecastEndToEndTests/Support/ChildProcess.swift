import Foundation
import Synchronization
import Testing
import SharecastSync

/// A process the test starts (the real `sharecast` binary, ffprobe, ffmpeg), with its output
/// collected as it arrives so tests can wait for a line instead of sleeping.
final class ChildProcess: Sendable {
    let process: Process
    private let output = CollectedOutput()
    /// Kept so their dispatch read sources can be removed before the descriptors close: a source
    /// left on a closed descriptor that gets reused crashes libdispatch's event loop.
    private let pipes: [Pipe]

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var base = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SHARECAST_") }
        base.merge(environment) { _, new in new }
        process.environment = base
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        self.process = process
        pipes = [out, err]
        let output = self.output
        // Plain threads with blocking reads, not readabilityHandler: libdispatch crashed
        // (_dispatch_event_loop_drain) when a pipe's descriptor was closed while its source was
        // still being cancelled and the number was reused by a test's socket. Each thread keeps
        // its pipe (and so the descriptor) until it has read the end of the output.
        for (pipe, isError) in [(out, false), (err, true)] {
            let thread = Thread {
                let descriptor = pipe.fileHandleForReading.fileDescriptor
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else { break }
                    let text = String(decoding: chunk[0..<count], as: UTF8.self)
                    output.text.withLock { if isError { $0.stderr += text } else { $0.stdout += text } }
                }
                output.finished.add(1, ordering: .releasing)
            }
            thread.start()
        }
        try process.run()
    }

    var stdout: String { output.text.withLock { $0.stdout } }
    var stderr: String { output.text.withLock { $0.stderr } }

    /// Waits for a line of standard error or output that contains `text`, and returns it.
    func waitForLine(containing text: String, timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = (stderr + "\n" + stdout).split(separator: "\n").first(where: { $0.contains(text) }) {
                return String(line)
            }
            if !process.isRunning {
                try await Task.sleep(for: .milliseconds(50))
                let final = stderr + "\n" + stdout
                if let line = final.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
                throw ChildProcessError.exited(status: process.terminationStatus, output: final)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ChildProcessError.timedOut(waitingFor: text, output: stderr + stdout)
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for the process to exit and returns its status (death by signal N shows as 128 + N).
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw ChildProcessError.timedOut(waitingFor: "exit", output: stderr + stdout)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Let the readers take what is left in the pipes (a grandchild may keep them open: not
        // for long).
        let drained = ContinuousClock.now + .seconds(2)
        while output.finished.load(ordering: .acquiring) < 2, ContinuousClock.now < drained {
            try await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Runs to completion and returns status and output.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, directory: directory)
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// What a child wrote, filled in by the pipes' handlers.
final class CollectedOutput: Sendable {
    let text = Locked((stdout: "", stderr: ""))
    /// Readers that reached the end of their pipe.
    let finished = Atomic<Int>(0)
}

enum ChildProcessError: Error, CustomStringConvertible {
    case exited(status: Int32, output: String)
    case timedOut(waitingFor: String, output: String)

    var description: String {
        switch self {
        case let .exited(status, output): "process exited with status \(status):\n\(output)"
        case let .timedOut(text, output): "timed out waiting for \(text):\n\(output)"
        }
    }
}

/// Where things are: the binary under test and the tools it is checked with.
enum Tools {
    /// `SHARECAST_BIN` (set by scripts/test.sh), else the binary next to the test bundle.
    static var sharecast: String {
        if let path = ProcessInfo.processInfo.environment["SHARECAST_BIN"], !path.isEmpty { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("sharecast").path
    }

    /// A tool on PATH; a missing one fails the test that needs it (make deps installs them).
    static func require(_ name: String) throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        Issue.record("\(name) is not installed; run `make deps`")
        throw CancellationError()
    }
}

/// A fresh directory under the system's temporary directory, removed with the value.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "sharecast-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let target = file(name)
        try contents.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Polls `condition` every 20 ms until it holds, failing after `timeout`.
func waitUntil(timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
               _ condition: () throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
