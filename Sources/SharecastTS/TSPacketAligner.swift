/// Turns an upstream byte stream into runs of whole, sync-aligned TS packets, and finds the places
/// where a new viewer can start decoding.
///
/// Upstream chunks end anywhere, and a provider may send junk or lose sync; the ring downstream
/// must only ever hold whole packets, so that every reader position is a packet boundary. Runs are
/// handed out straight from the input (no copy) except for the one packet split across chunks.
///
/// When sync is lost the aligner drops bytes up to the next place where two sync bytes stand one
/// packet apart: it may lose the packet next to the damage, but never passes on a torn one.
///
/// A join point is the PAT that precedes a random-access packet on the PCR PID (a keyframe), or the
/// random-access packet itself when no PAT came shortly before it. Positions are absolute: bytes
/// emitted since the aligner was made, which equals the ring's write position.
public struct TSPacketAligner: Sendable {
    private var carry: [UInt8] = []
    /// Bytes emitted so far.
    public private(set) var position: Int64 = 0
    /// Times the stream had to be searched for the sync byte again.
    public private(set) var syncLosses = 0
    /// Packets passed on.
    public private(set) var packets: Int64 = 0
    /// Continuity counter jumps (a lost, repeated-too-often or reordered packet), null PID excluded.
    public private(set) var continuityErrors: Int64 = 0
    /// The stream's rate measured between PCRs at least `rateWindow` apart (0 until measured).
    public private(set) var pcrBitsPerSecond: Int64 = 0
    /// PCR ticks a rate measurement spans at least.
    let rateWindowTicks: Int64
    /// Last continuity counter per PID; 0xFF: not seen since the last discontinuity.
    private var lastContinuity = [UInt8](repeating: 0xFF, count: 8192)
    private var pcrAnchor: (pcr: Int64, position: Int64)?
    private var clockPID: UInt16?
    private var lastPAT: Int64 = -1
    private var discontinuityPending = false
    /// A PAT further back than this from the keyframe is not used as its join point.
    static let patReach = Int64(TSPacket.size * 1000)

    public init(rateWindow: Duration = .seconds(1)) {
        carry.reserveCapacity(TSPacket.size)
        rateWindowTicks = max(TSPacket.pcrTicks(rateWindow), 1)
    }

    /// Drops a partial packet held from the last chunk (the upstream was reconnected).
    public mutating func dropPartialPacket() {
        carry.removeAll(keepingCapacity: true)
    }

    /// The stream's time base restarts with the next bytes (an HLS `#EXT-X-DISCONTINUITY`, or a
    /// reconnected upstream): the next packet carrying a PCR gets the discontinuity indicator, so
    /// players reset their clock instead of stalling on timestamps that jumped.
    public mutating func markDiscontinuity() {
        discontinuityPending = true
        resetContinuity()
    }

    private mutating func resetContinuity() {
        for index in lastContinuity.indices { lastContinuity[index] = 0xFF }
        pcrAnchor = nil
    }

    /// Feeds upstream bytes; `emit` receives each run of whole packets and the newest join position
    /// found in it, if any.
    public mutating func feed(_ input: UnsafeMutableRawBufferPointer, _ emit: (UnsafeRawBufferPointer, Int64?) -> Void) {
        var data = input
        if !carry.isEmpty {
            let take = min(TSPacket.size - carry.count, data.count)
            carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<take]))
            data = UnsafeMutableRawBufferPointer(rebasing: data[take...])
            // A completed packet waits for the next byte, so it gets the same look-ahead as below;
            // a failed one costs at most this one packet.
            guard carry.count == TSPacket.size, !data.isEmpty else { return }
            if carry[0] == TSPacket.syncByte, data[0] == TSPacket.syncByte {
                // Moved out, not copied: a second reference would make the mutable access below
                // copy the array (an allocation per upstream chunk).
                var pending: [UInt8] = []
                swap(&pending, &carry)
                pending.withUnsafeMutableBytes { packet in
                    let join = inspect(packet, at: position)
                    position += Int64(TSPacket.size)
                    emit(UnsafeRawBufferPointer(packet), join)
                }
                pending.removeAll(keepingCapacity: true)
                swap(&pending, &carry)
            } else {
                syncLosses += 1
                carry.removeAll(keepingCapacity: true)
            }
        }
        var offset = 0
        if !data.isEmpty, data[0] != TSPacket.syncByte {
            syncLosses += 1
            offset = Self.findSync(data, from: 0)
        }
        var runStart = offset
        var join: Int64?
        while offset + TSPacket.size <= data.count {
            // A packet counts as in sync when the next one (if it is here) starts with a sync byte too,
            // so a torn packet that happens to start with 0x47 is not passed on.
            let next = offset + TSPacket.size
            var torn = data[offset] != TSPacket.syncByte
            if !torn, next < data.count, data[next] != TSPacket.syncByte {
                // Either this packet is torn (a real one starts inside it) or junk follows it.
                torn = Self.findSync(data, from: offset + 1) < next
            }
            guard !torn else {
                flush(data, runStart, offset, join, emit)
                join = nil
                syncLosses += 1
                offset = Self.findSync(data, from: offset + 1)
                runStart = offset
                continue
            }
            let packet = UnsafeMutableRawBufferPointer(rebasing: data[offset..<(offset + TSPacket.size)])
            if let found = inspect(packet, at: position + Int64(offset - runStart)) { join = found }
            offset += TSPacket.size
        }
        flush(data, runStart, offset, join, emit)
        if offset < data.count {
            carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[offset...]))
        }
    }

    private mutating func flush(_ data: UnsafeMutableRawBufferPointer, _ start: Int, _ end: Int, _ join: Int64?,
                                _ emit: (UnsafeRawBufferPointer, Int64?) -> Void) {
        guard end > start else { return }
        position += Int64(end - start)
        emit(UnsafeRawBufferPointer(rebasing: data[start..<end]), join)
    }

    /// Notes PATs and keyframes; returns a join position when `packet` is a keyframe start.
    private mutating func inspect(_ mutablePacket: UnsafeMutableRawBufferPointer, at: Int64) -> Int64? {
        let packet = UnsafeRawBufferPointer(mutablePacket)
        packets += 1
        if discontinuityPending, TSPacket.pcr(packet) != nil {
            TSPacket.setDiscontinuityIndicator(mutablePacket)
            discontinuityPending = false
        }
        let pid = TSPacket.pid(packet)
        checkContinuity(packet, pid: pid)
        if pid == clockPID, let pcr = TSPacket.pcr(packet) { measureRate(pcr: pcr, at: at) }
        if pid == TSPacket.patPID, TSPacket.startsPayloadUnit(packet) {
            lastPAT = at
            return nil
        }
        if clockPID == nil, TSPacket.pcr(packet) != nil { clockPID = pid }
        guard pid == clockPID, TSPacket.isRandomAccess(packet) else { return nil }
        return lastPAT >= 0 && at - lastPAT <= Self.patReach ? lastPAT : at
    }

    /// Counts continuity counter jumps: a packet with payload must carry the previous counter + 1
    /// (or repeat it once, a permitted duplicate); one without payload must repeat it.
    private mutating func checkContinuity(_ packet: UnsafeRawBufferPointer, pid: UInt16) {
        guard pid != TSPacket.nullPID else { return }
        let counter = TSPacket.continuityCounter(packet)
        let last = lastContinuity[Int(pid)]
        lastContinuity[Int(pid)] = counter
        guard last != 0xFF, !TSPacket.hasDiscontinuityIndicator(packet) else { return }
        if TSPacket.hasPayload(packet) {
            if counter != (last &+ 1) & 0x0F, counter != last { continuityErrors += 1 }
        } else if counter != last {
            continuityErrors += 1
        }
    }

    /// Rate between PCRs on the clock PID at least a window apart; a jump back or of more than ten
    /// windows (a discontinuity, a wrap) starts the measurement again.
    private mutating func measureRate(pcr: Int64, at position: Int64) {
        guard let anchor = pcrAnchor else {
            pcrAnchor = (pcr, position)
            return
        }
        let elapsed = pcr - anchor.pcr
        if elapsed <= 0 || elapsed > 10 * rateWindowTicks {
            pcrAnchor = (pcr, position)
        } else if elapsed >= rateWindowTicks {
            pcrBitsPerSecond = (position - anchor.position) * 8 * TSPacket.pcrHz / elapsed
            pcrAnchor = (pcr, position)
        }
    }

    /// The first offset at or after `from` holding a sync byte that another sync byte follows one
    /// packet later (or that is too close to the end to tell).
    static func findSync(_ data: UnsafeMutableRawBufferPointer, from: Int) -> Int {
        var index = from
        while index < data.count {
            if data[index] == TSPacket.syncByte, index + TSPacket.size >= data.count || data[index + TSPacket.size] == TSPacket.syncByte {
                return index
            }
            index += 1
        }
        return data.count
    }
}
