import Dispatch
import SharecastHTTP
import SharecastTS
import Synchronization
import SharecastSync

/// One session's ring of whole TS packets: the upstream writes, every viewer reads at its own cursor.
///
/// Positions are absolute byte counts since the session began; the ring holds the last `capacity`
/// bytes. Because the writer only ever adds whole packets, every position a reader can hold is a
/// packet boundary, so a viewer never gets a torn packet or a gap inside one. Reads and writes are a
/// `memcpy` under one short lock; nothing on this path allocates per chunk, logs or touches the
/// database. Readers that have caught up leave their waker and are woken in batches: every
/// `wakeThreshold` bytes, or by `flush()` once bytes have waited `maxWakeDelay`. Each wake costs a
/// resume, a few reads and a suspend per viewer, so fewer, larger batches are what keeps thousands
/// of viewers cheap; the delay bounds the latency that adds for slow streams.
public final class SharedBuffer: Sendable {
    public enum ReadResult: Equatable, Sendable {
        /// This many bytes were copied and the cursor moved on.
        case bytes(Int)
        /// Nothing new; the waker will be called when there is.
        case caughtUp
        /// The writer has overwritten data the reader had not read: it fell a whole ring behind.
        case lapped
        /// The session is over and the reader has everything.
        case ended
    }

    struct State {
        var writePosition: Int64 = 0
        /// Recent packet positions where a decoder can start (PAT before a keyframe), oldest first.
        var joinPoints: [Int64] = []
        var waiters: [any ResponseWaker] = []
        var pendingSinceWake = 0
        /// When readers were last woken (monotonic nanoseconds).
        var lastWake: UInt64 = 0
        var ended = false
    }

    public let capacity: Int
    public let wakeThreshold: Int
    public let maxWakeDelayNanoseconds: UInt64
    private let storage: RingStorage
    /// The ring's file under `buffer_path`, while it has one (until the stream ends).
    var storagePath: String? { storage.existingPath }
    private let state: Locked<State>
    static let maxJoinPoints = 64

    /// `capacity` is rounded down to whole packets. Returns nil when the memory cannot be had.
    public init?(capacity: Int, directory: String? = nil, name: String = "ring", wakeThreshold: Int = 64 * 1024,
                 maxWakeDelay: Duration = .milliseconds(100)) {
        let packets = max(capacity / TSPacket.size, 16)
        guard let storage = RingStorage(capacity: packets * TSPacket.size, directory: directory, name: name) else { return nil }
        self.storage = storage
        self.capacity = storage.capacity
        self.wakeThreshold = wakeThreshold
        let (seconds, attoseconds) = maxWakeDelay.components
        maxWakeDelayNanoseconds = UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
        var initial = State()
        initial.joinPoints.reserveCapacity(Self.maxJoinPoints)
        state = Locked(initial)
    }

    /// The file backing the ring, if it is file-backed and the stream has not ended.
    public var filePath: String? { storage.existingPath }

    /// Total bytes written since the session began.
    public var writePosition: Int64 { state.withLock { $0.writePosition } }

    /// Appends whole packets. `joinPosition`, when given, is the absolute position of the latest
    /// place a new viewer could start decoding (it may lie in an earlier write).
    public func write(_ packets: UnsafeRawBufferPointer, joinPosition: Int64? = nil) {
        guard let base = packets.baseAddress, !packets.isEmpty else { return }
        let toWake: [any ResponseWaker]? = state.withLock { state in
            var source = UnsafeRawBufferPointer(start: base, count: packets.count)
            // More than a ring at once: only the newest ring's worth can survive.
            if source.count > capacity {
                let skip = (source.count - capacity) / TSPacket.size * TSPacket.size
                source = UnsafeRawBufferPointer(rebasing: source[skip...])
                state.writePosition += Int64(skip)
            }
            let start = Int(state.writePosition % Int64(capacity))
            let first = min(source.count, capacity - start)
            let from = base + (packets.count - source.count)
            (storage.base + start).copyMemory(from: from, byteCount: first)
            if first < source.count {
                storage.base.copyMemory(from: from + first, byteCount: source.count - first)
            }
            state.writePosition += Int64(source.count)
            if let joinPosition, (joinPosition < state.writePosition) && (joinPosition > (state.joinPoints.last ?? -1)) {
                if state.joinPoints.count == Self.maxJoinPoints { state.joinPoints.removeFirst() }
                state.joinPoints.append(joinPosition)
            }
            state.pendingSinceWake += source.count
            guard state.pendingSinceWake >= wakeThreshold, !state.waiters.isEmpty else { return nil }
            return takeWaiters(&state)
        }
        toWake?.forEach { $0.wake() }
    }

    private func takeWaiters(_ state: inout State) -> [any ResponseWaker] {
        state.pendingSinceWake = 0
        state.lastWake = DispatchTime.now().uptimeNanoseconds
        var taken: [any ResponseWaker] = []
        swap(&taken, &state.waiters)
        return taken
    }

    /// Wakes readers waiting for bytes written since the last wake, once those have waited
    /// `maxWakeDelay` (the housekeeping tick calls it, so a slow stream's tail does not wait for
    /// the threshold).
    public func flush() {
        let now = DispatchTime.now().uptimeNanoseconds
        let toWake: [any ResponseWaker]? = state.withLock { state in
            guard state.pendingSinceWake > 0, !state.waiters.isEmpty,
                  now &- state.lastWake >= maxWakeDelayNanoseconds else { return nil }
            return takeWaiters(&state)
        }
        toWake?.forEach { $0.wake() }
    }

    /// Marks the stream finished: readers drain what is left, then see `.ended`.
    public func end() {
        let toWake = state.withLock { state -> [any ResponseWaker] in
            state.ended = true
            return takeWaiters(&state)
        }
        // Readers still draining keep the mapping; the file goes now, not when the last one leaves.
        storage.removeFile()
        toWake.forEach { $0.wake() }
    }

    /// Where a new viewer starts: the newest join point still comfortably inside the ring (so the
    /// player can decode at once), else the live edge.
    public func joinPosition() -> Int64 {
        state.withLock { state in
            let oldestSafe = state.writePosition - Int64(capacity) + Int64(capacity / 4)
            return state.joinPoints.last(where: { $0 >= oldestSafe }) ?? state.writePosition
        }
    }

    /// The newest join point at or after `cursor`, for a lagging viewer that is skipped forward.
    public func newestJoinPosition() -> Int64 {
        state.withLock { state in state.joinPoints.last ?? state.writePosition }
    }

    /// Copies the bytes after `cursor` into `buffer` (whole packets when the buffer can hold one)
    /// and moves the cursor on. When there is nothing new, `waker` is kept and called later.
    public func read(from cursor: inout Int64, into buffer: UnsafeMutableRawBufferPointer, waker: any ResponseWaker) -> ReadResult {
        guard let destination = buffer.baseAddress, !buffer.isEmpty else { return .bytes(0) }
        return state.withLock { state in
            let available = state.writePosition - cursor
            if available > Int64(capacity) { return .lapped }
            if available <= 0 {
                if state.ended { return .ended }
                state.waiters.append(waker)
                return .caughtUp
            }
            var count = Int(min(available, Int64(buffer.count)))
            if count >= TSPacket.size { count -= count % TSPacket.size }
            let start = Int(cursor % Int64(capacity))
            let first = min(count, capacity - start)
            destination.copyMemory(from: storage.base + start, byteCount: first)
            if first < count {
                (destination + first).copyMemory(from: storage.base, byteCount: count - first)
            }
            cursor += Int64(count)
            return .bytes(count)
        }
    }
}
