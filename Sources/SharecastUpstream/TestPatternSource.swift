import SharecastTS
import Synchronization
import SharecastSync

/// The built-in test channel as a session source: the looping clip, paced at its real rate by a
/// timer on the upstream loop (so, like every other source, it writes from the loop thread).
/// `@unchecked` because of `scratch`, which only the loop thread touches.
public final class TestPatternSource: ChannelSource, @unchecked Sendable {
    public let format = "builtin"
    public let currentURL = "builtin:testpattern"
    let loop: UpstreamLoop
    weak let sink: (any SourceSink)?
    let tick: Duration
    private let generator: Locked<TestPatternGenerator>
    private let stopped = Atomic<Bool>(false)
    private let started: ContinuousClock.Instant
    private let scratch: UnsafeMutableRawBufferPointer

    public init(clip: TSClip, targetBitsPerSecond: Int64? = nil, loop: UpstreamLoop, sink: any SourceSink, tick: Duration = .milliseconds(20)) {
        generator = Locked(TestPatternGenerator(clip: clip, targetBitsPerSecond: targetBitsPerSecond))
        self.loop = loop
        self.sink = sink
        self.tick = tick
        // Start one second in, so the first viewer has a keyframe and a second of video at once.
        started = ContinuousClock.now - .seconds(1)
        scratch = .allocate(byteCount: 188 * 1024, alignment: 16)
    }

    deinit {
        scratch.deallocate()
    }

    public func start() {
        loop.schedule(after: .zero) { [weak self] in
            guard let self else { return }
            self.sink?.sourceEvent(.connected(url: self.currentURL))
            self.produce()
        }
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
    }

    private func produce() {
        guard !stopped.load(ordering: .acquiring), let sink else { return }
        let ticks = TSPacket.pcrTicks(ContinuousClock.now - started)
        while true {
            let count = generator.withLock { $0.read(dueBy: ticks, into: scratch) }
            guard count > 0 else { break }
            sink.sourceReceived(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count]))
        }
        loop.schedule(after: tick) { [weak self] in self?.produce() }
    }
}
