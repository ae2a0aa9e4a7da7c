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
    public init?(capacity: Int, directory: String? = nil, name: String = "ring", wakeThreshold: Int = 128 * 1024,
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

    /// Where a new viewer starts: the newest join point at least `backlog` bytes behind the live
    /// edge (so the player gets that much at once and its probe decides), else the oldest one
    /// still comfortably inside the ring, else the live edge. A join point is a keyframe with the
    /// PAT before it, so the player can decode from its first byte.
    public func joinPosition(backlog: Int64 = 0) -> Int64 {
        state.withLock { state in
            let oldestSafe = state.writePosition - Int64(capacity) + Int64(capacity / 4)
            let limit = backlog > state.writePosition ? Int64.min : state.writePosition - backlog
            return state.joinPoints.last(where: { $0 >= oldestSafe && $0 <= limit })
                ?? state.joinPoints.first(where: { $0 >= oldestSafe }) ?? state.writePosition
        }
    }

    /// The newest join point at or after `cursor`, for a lagging viewer that is skipped forward.
    public func newestJoinPosition() -> Int64 {
        state.withLock { state in state.joinPoints.last ?? state.writePosition }
    }

    /// Bytes short of a whole ring at which a viewer sent from in place counts as lapped: what is
    /// being sent cannot be overwritten during the send unless the writer adds this much meanwhile,
    /// and the rest of a packet a partial send cut is still there when the viewer is skipped.
    public static let inPlaceMargin = 64 * 1024

    /// Hands `transmit` the bytes after `cursor` where they lie in the ring (at most `limit`, not
    /// across the ring's end) and moves the cursor on by what it took. The lock is not held while
    /// `transmit` runs; bytes the writer may have reached meanwhile make the result `.lapped`.
    public func sendInPlace(from cursor: inout Int64, limit: Int, waker: any ResponseWaker,
                            _ transmit: (UnsafeRawBufferPointer) -> Int) -> ReadResult {
        let margin = min(Self.inPlaceMargin, capacity / 4)
        let from = cursor
        // The region to send, or what to answer instead.
        let region = state.withLock { state -> (start: Int, count: Int, answer: ReadResult?) in
            let available = state.writePosition - from
            if available > Int64(capacity - margin) { return (0, 0, .lapped) }
            if available <= 0 {
                if state.ended { return (0, 0, .ended) }
                state.waiters.append(waker)
                return (0, 0, .caughtUp)
            }
            let start = Int(from % Int64(capacity))
            return (start, min(Int(available), capacity - start, max(limit, 1)), nil)
        }
        switch region {
        case let (_, _, answer?): return answer
        case let (start, count, nil):
            let taken = transmit(UnsafeRawBufferPointer(start: storage.base + start, count: count))
            guard taken > 0 else { return .bytes(0) }
            // Overwritten while in the kernel's hands only if the writer got a whole ring ahead.
            if state.withLock({ $0.writePosition - from > Int64(capacity) }) { return .lapped }
            cursor = from + Int64(min(taken, count))
            return .bytes(min(taken, count))
        }
    }

    /// The bytes from `cursor` to the next packet boundary (a partial send stopped inside a packet
    /// and the viewer is skipped forward: the packet is completed first, so the viewer's stream
    /// stays aligned).
    public func restOfPacket(at cursor: Int64) -> [UInt8] {
        let cut = Int(cursor % Int64(TSPacket.size))
        guard cut != 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: TSPacket.size - cut)
        state.withLock { _ in
            bytes.withUnsafeMutableBytes { destination in
                guard let base = destination.baseAddress else { return }
                copy(from: cursor, count: destination.count, into: base)
            }
        }
        return bytes
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
            copy(from: cursor, count: count, into: destination)
            cursor += Int64(count)
            return .bytes(count)
        }
    }

    /// Copies `count` bytes of the ring from absolute position `position`, across its end if
    /// need be. Under the lock.
    private func copy(from position: Int64, count: Int, into destination: UnsafeMutableRawPointer) {
        let start = Int(position % Int64(capacity))
        let first = min(count, capacity - start)
        destination.copyMemory(from: storage.base + start, byteCount: first)
        if first < count {
            (destination + first).copyMemory(from: storage.base, byteCount: count - first)
        }
    }
}
