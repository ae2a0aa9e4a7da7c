import CTestPatternClip

/// Why a clip cannot be looped.
public enum TSClipError: Error, CustomStringConvertible, Equatable {
    case notPacketAligned(length: Int)
    case lostSync(packet: Int)
    case noClock
    case tooFewFrames

    public var description: String {
        switch self {
        case let .notPacketAligned(length): "clip length \(length) is not a multiple of 188 bytes"
        case let .lostSync(packet): "clip packet \(packet) does not start with the sync byte 0x47"
        case .noClock: "clip carries fewer than two PCRs, so it cannot be paced"
        case .tooFewFrames: "clip carries fewer than two timestamped frames on its PCR PID"
        }
    }
}

/// A short MPEG-TS clip prepared for seamless looping at its real bitrate.
///
/// Construction does the analysis once (packet schedule from the PCRs, loop duration from the frame
/// timestamps, continuity counter advance per PID) so that replaying is a copy plus a few in-place
/// field rewrites per packet.
public struct TSClip: Sendable {
    /// The clip's packets, back to back.
    public let bytes: [UInt8]
    public var packetCount: Int { bytes.count / TSPacket.size }
    /// When packet `i` is due, in 27 MHz ticks after packet 0 of the same loop.
    public let schedule: [Int64]
    /// How far every timestamp moves per loop, in 90 kHz ticks (the clip's duration in frames).
    public let loopDuration90k: Int64
    /// How far each packet's continuity counter moves per loop (the count of payload packets on its PID).
    private let continuityAdvance: [UInt8]

    public var loopDuration27M: Int64 { loopDuration90k * 300 }
    /// The clip's average rate in bits per second.
    public var bitsPerSecond: Int64 { Int64(bytes.count) * 8 * TSPacket.pcrHz / loopDuration27M }

    public init(bytes: [UInt8]) throws(TSClipError) {
        guard !bytes.isEmpty, bytes.count % TSPacket.size == 0 else {
            throw .notPacketAligned(length: bytes.count)
        }
        let count = bytes.count / TSPacket.size
        var clocks: [(index: Int, pcr: Int64)] = []
        var clockPID: UInt16?
        var payloadPackets: [UInt16: Int] = [:]
        var pidOfPacket: [UInt16] = []
        var frameTimes: [Int64] = []
        pidOfPacket.reserveCapacity(count)
        let failure: TSClipError? = bytes.withUnsafeBytes { (all: UnsafeRawBufferPointer) -> TSClipError? in
            for index in 0..<count {
                let packet = UnsafeRawBufferPointer(rebasing: all[(index * TSPacket.size)..<((index + 1) * TSPacket.size)])
                guard TSPacket.isSynced(packet) else { return .lostSync(packet: index) }
                let pid = TSPacket.pid(packet)
                pidOfPacket.append(pid)
                if TSPacket.hasPayload(packet) { payloadPackets[pid, default: 0] += 1 }
                if let pcr = TSPacket.pcr(packet), clockPID == nil || clockPID == pid {
                    clockPID = pid
                    clocks.append((index, pcr))
                }
            }
            guard let clockPID else { return nil }
            for index in 0..<count where pidOfPacket[index] == clockPID {
                let packet = UnsafeRawBufferPointer(rebasing: all[(index * TSPacket.size)..<((index + 1) * TSPacket.size)])
                if let time = TSPacket.dts(packet) ?? TSPacket.pts(packet) { frameTimes.append(time) }
            }
            return nil
        }
        if let failure { throw failure }
        guard clocks.count >= 2 else { throw .noClock }
        guard frameTimes.count >= 2, let first = frameTimes.min(), let last = frameTimes.max(), last > first else {
            throw .tooFewFrames
        }
        // N frames span N-1 intervals; one loop is N intervals so the next loop's first frame follows on.
        let interval = (last - first) / Int64(frameTimes.count - 1)
        let loop90k = last - first + interval
        self.bytes = bytes
        self.loopDuration90k = loop90k
        self.continuityAdvance = pidOfPacket.map { UInt8((payloadPackets[$0] ?? 0) % 16) }
        self.schedule = Self.makeSchedule(count: count, clocks: clocks, loop27M: loop90k * 300)
    }

    /// Interpolates each packet's due time linearly between the PCRs around it; packets after the last
    /// PCR and before the first are spread over the gap to the next loop's first PCR.
    private static func makeSchedule(count: Int, clocks: [(index: Int, pcr: Int64)], loop27M: Int64) -> [Int64] {
        var times = [Int64](repeating: 0, count: count)
        for (a, b) in zip(clocks, clocks.dropFirst()) {
            let span = Int64(b.index - a.index)
            for index in a.index..<b.index {
                times[index] = a.pcr + (b.pcr - a.pcr) * Int64(index - a.index) / span
            }
        }
        let firstClock = clocks[0], lastClock = clocks[clocks.count - 1]
        let wrapPackets = Int64(count - lastClock.index + firstClock.index)
        let wrapTicks = firstClock.pcr + loop27M - lastClock.pcr
        for index in lastClock.index..<count {
            times[index] = lastClock.pcr + wrapTicks * Int64(index - lastClock.index) / wrapPackets
        }
        for index in 0..<firstClock.index {
            times[index] = firstClock.pcr - wrapTicks * Int64(firstClock.index - index) / wrapPackets
        }
        let origin = times[0]
        return times.map { $0 - origin }
    }

    /// Writes packet `index` of loop number `loop` into `destination` (188 bytes), with its continuity
    /// counter, PCR and PES timestamps moved on so that the loop continues the previous one seamlessly.
    public func copyPacket(_ index: Int, loop: Int64, into destination: UnsafeMutableRawBufferPointer) {
        bytes.withUnsafeBytes { all in
            destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[(index * TSPacket.size)..<((index + 1) * TSPacket.size)]))
        }
        guard loop > 0 else { return }
        let shift = (loop * loopDuration90k) % TSPacket.timestampModulus
        let advance = continuityAdvance[index]
        if advance != 0, TSPacket.hasPayload(UnsafeRawBufferPointer(destination)) {
            let cc = Int64(TSPacket.continuityCounter(UnsafeRawBufferPointer(destination)))
            TSPacket.setContinuityCounter(destination, UInt8((cc + loop * Int64(advance)) % 16))
        }
        TSPacket.shiftPCR(destination, by: shift)
        TSPacket.shiftTimestamps(destination, by: shift)
    }
}

extension TSClip {
    /// The clip of the built-in test channel (`builtin:testpattern`), compiled into the binary.
    public static let testPattern: TSClip? = {
        let length = sharecast_testpattern_clip_length()
        guard let start = sharecast_testpattern_clip() else { return nil }
        return try? TSClip(bytes: Array(UnsafeBufferPointer(start: start, count: length)))
    }()
}
