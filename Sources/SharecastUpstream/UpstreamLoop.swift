import CCurl
import CShims
import Foundation
import Logging
import Synchronization
import SharecastSync

/// One thread that drives every upstream transfer through libcurl's multi interface, plus the
/// timers the upstream logic needs (reconnect back-off, playlist polling).
///
/// Other threads talk to it only through commands (start, cancel, schedule), queued under a lock
/// and followed by `curl_multi_wakeup`, so the multi handle and every easy handle are touched by
/// the loop thread alone, as libcurl requires.
public final class UpstreamLoop: Sendable {
    enum Command {
        case start(UpstreamTransfer)
        case cancel(UpstreamTransfer)
        case timer(ContinuousClock.Instant, @Sendable () -> Void)
    }

    /// `@unchecked Sendable`: the multi handle is used by the loop thread only, except for
    /// `curl_multi_wakeup`, which libcurl allows from any thread.
    final class Shared: @unchecked Sendable {
        let multi: CurlMulti
        let commands = Locked<[Command]>([])

        init(multi: CurlMulti) {
            self.multi = multi
        }
    }

    private let shared: Shared
    /// Transfers started on this loop that are still in memory, running or not: a count that
    /// only grows is a leak (tests and the soak read it).
    let census = TransferCensus()
    public var transfersInMemory: Int { census.alive.load(ordering: .relaxed) }
    /// The loop's thread; its stop interrupts `curl_multi_poll` with a wakeup.
    private let thread: ServiceThread

    public init?(logger: Logger) {
        guard let multi = CurlMulti() else { return nil }
        let shared = Shared(multi: multi)
        self.shared = shared
        thread = ServiceThread(name: "sharecast-upstream", interrupt: { curl_multi_wakeup(shared.multi.handle) }) { thread in
            Self.run(shared, thread: thread, logger: logger)
        }
        thread.start()
    }

    deinit {
        shutdown()
    }

    public func start(_ transfer: UpstreamTransfer) {
        transfer.count(in: census)
        send(.start(transfer))
    }

    /// Stops a transfer; its `onFinish` sees `.cancelled` (unless it already finished).
    public func cancel(_ transfer: UpstreamTransfer) {
        send(.cancel(transfer))
    }

    /// Runs `action` on the loop thread after `delay`.
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) {
        send(.timer(ContinuousClock.now + delay, action))
    }

    /// Cancels every transfer and stops the thread; waits for it to finish.
    public func shutdown() {
        thread.stop()
    }

    private func send(_ command: Command) {
        shared.commands.withLock { $0.append(command) }
        curl_multi_wakeup(shared.multi.handle)
    }

    private static func run(_ shared: Shared, thread: ServiceThread, logger: Logger) {
        let multi = shared.multi.handle
        var active: [ObjectIdentifier: UpstreamTransfer] = [:]
        var timers: [(due: ContinuousClock.Instant, action: @Sendable () -> Void)] = []
        var pending: [Command] = []

        func remove(_ transfer: UpstreamTransfer, code: CURLcode?) {
            guard active.removeValue(forKey: ObjectIdentifier(transfer)) != nil else { return }
            curl_multi_remove_handle(multi, transfer.easy.handle)
            transfer.finish(code)
        }

        while !thread.isStopping {
            shared.commands.withLock { swap(&pending, &$0) }
            for command in pending {
                switch command {
                case let .start(transfer):
                    if curl_multi_add_handle(multi, transfer.easy.handle) == CURLM_OK {
                        active[ObjectIdentifier(transfer)] = transfer
                    } else {
                        transfer.finish(CURLE_FAILED_INIT)
                    }
                case let .cancel(transfer):
                    remove(transfer, code: nil)
                case let .timer(due, action):
                    timers.append((due, action))
                }
            }
            pending.removeAll(keepingCapacity: true)

            let now = ContinuousClock.now
            if timers.contains(where: { $0.due <= now }) {
                let due = timers.filter { $0.due <= now }
                timers.removeAll { $0.due <= now }
                for timer in due { timer.action() }
            }

            var stillRunning: Int32 = 0
            curl_multi_perform(multi, &stillRunning)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                var context: UnsafeMutableRawPointer?
                _ = shim_curl_getinfo_pointer(easy, CURLINFO_PRIVATE, &context)
                guard let context else { continue }
                let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(context).takeUnretainedValue()
                remove(transfer, code: message.pointee.data.result)
            }

            var timeout = 100
            if let next = timers.map(\.due).min() {
                let wait = next - ContinuousClock.now
                timeout = max(0, min(timeout, Int(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)))
            }
            var ready: Int32 = 0
            curl_multi_poll(multi, nil, 0, Int32(timeout), &ready)
        }
        for transfer in Array(active.values) { remove(transfer, code: nil) }
        logger.debug("upstream loop stopped")
    }
}

/// Counts live transfers of one loop (see `UpstreamLoop.transfersInMemory`).
final class TransferCensus: Sendable {
    let alive = Atomic<Int>(0)
}
