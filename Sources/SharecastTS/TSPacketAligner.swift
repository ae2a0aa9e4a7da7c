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
    private var clockPID: UInt16?
    private var lastPAT: Int64 = -1
    private var discontinuityPending = false
    /// A PAT further back than this from the keyframe is not used as its join point.
    static let patReach = Int64(TSPacket.size * 1000)

    public init() {
        carry.reserveCapacity(TSPacket.size)
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
                var pending = carry
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
            guard data[offset] == TSPacket.syncByte, next >= data.count || data[next] == TSPacket.syncByte else {
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
        if discontinuityPending, TSPacket.pcr(packet) != nil {
            TSPacket.setDiscontinuityIndicator(mutablePacket)
            discontinuityPending = false
        }
        let pid = TSPacket.pid(packet)
        if pid == TSPacket.patPID, TSPacket.startsPayloadUnit(packet) {
            lastPAT = at
            return nil
        }
        if clockPID == nil, TSPacket.pcr(packet) != nil { clockPID = pid }
        guard pid == clockPID, TSPacket.isRandomAccess(packet) else { return nil }
        return lastPAT >= 0 && at - lastPAT <= Self.patReach ? lastPAT : at
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
