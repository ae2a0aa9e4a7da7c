import SharecastHTTP
import SharecastTS
import Synchronization
import SharecastSync

/// A response that plays the test pattern to one client, paced at the clip's real bitrate.
///
/// The clock starts `initialBurst` in the past, so a player gets that much at once and can start
/// decoding without waiting, as it would from a provider's server.
final class TestPatternBody: StreamingBody, Sendable {
    private let generator: Locked<TestPatternGenerator>
    private let start: ContinuousClock.Instant
    private let ticker: WakeTicker
    private let paced: Bool
    private let onClose: @Sendable (Int64) -> Void

    init(
        clip: TSClip, ticker: WakeTicker, targetBitsPerSecond: Int64? = nil, paced: Bool = true,
        initialBurst: Duration = .seconds(1), onClose: @escaping @Sendable (Int64) -> Void = { _ in }
    ) {
        generator = Locked(TestPatternGenerator(clip: clip, targetBitsPerSecond: targetBitsPerSecond))
        start = ContinuousClock.now - initialBurst
        self.ticker = ticker
        self.paced = paced
        self.onClose = onClose
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> StreamRead {
        let elapsed = paced ? TSPacket.pcrTicks(ContinuousClock.now - start) : .max
        let count = generator.withLock { $0.read(dueBy: elapsed, into: buffer) }
        if count > 0 { return .bytes(count) }
        ticker.wakeNext(waker)
        return .wait
    }

    func close(bytesSent: Int64, completed: Bool) {
        onClose(bytesSent)
    }
}
