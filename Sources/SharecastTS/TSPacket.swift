/// Reading and rewriting the fields of one 188-byte MPEG-TS packet in place.
///
/// Sharecast touches TS at the byte level on hot paths (looping the test clip, finding keyframes for
/// joining clients, counting continuity errors), so these are free functions over raw memory that
/// neither allocate nor copy. Every accessor checks bounds against the packet it is given; a
/// malformed packet reads as "field absent", never as a crash.
public enum TSPacket {
    /// The size of every transport stream packet.
    public static let size = 188
    /// The sync byte that starts every packet.
    public static let syncByte: UInt8 = 0x47
    /// The PID of null (stuffing) packets.
    public static let nullPID: UInt16 = 0x1FFF
    /// The PID of the program association table.
    public static let patPID: UInt16 = 0

    /// PCR ticks per second (27 MHz).
    public static let pcrHz: Int64 = 27_000_000
    /// PTS/DTS ticks per second (90 kHz).
    public static let ptsHz: Int64 = 90_000
    /// PTS, DTS and the PCR base wrap at 2^33.
    public static let timestampModulus: Int64 = 1 << 33

    /// A duration in 27 MHz PCR ticks, for pacing against the wall clock.
    public static func pcrTicks(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * pcrHz + attoseconds / (1_000_000_000_000_000_000 / pcrHz)
    }

    @inlinable
    public static func isSynced(_ packet: UnsafeRawBufferPointer) -> Bool {
        packet.count >= size && packet[0] == syncByte
    }

    @inlinable
    public static func pid(_ packet: UnsafeRawBufferPointer) -> UInt16 {
        (UInt16(packet[1] & 0x1F) << 8) | UInt16(packet[2])
    }

    /// Payload unit start indicator: a PES packet or a section starts in this packet.
    @inlinable
    public static func startsPayloadUnit(_ packet: UnsafeRawBufferPointer) -> Bool {
        packet[1] & 0x40 != 0
    }

    @inlinable
    public static func hasPayload(_ packet: UnsafeRawBufferPointer) -> Bool {
        packet[3] & 0x10 != 0
    }

    @inlinable
    public static func hasAdaptationField(_ packet: UnsafeRawBufferPointer) -> Bool {
        packet[3] & 0x20 != 0
    }

    @inlinable
    public static func continuityCounter(_ packet: UnsafeRawBufferPointer) -> UInt8 {
        packet[3] & 0x0F
    }

    @inlinable
    public static func setContinuityCounter(_ packet: UnsafeMutableRawBufferPointer, _ value: UInt8) {
        packet[3] = (packet[3] & 0xF0) | (value & 0x0F)
    }

    /// The length byte of the adaptation field, or nil when the packet has none.
    @inlinable
    static func adaptationLength(_ packet: UnsafeRawBufferPointer) -> Int? {
        guard hasAdaptationField(packet) else { return nil }
        let length = Int(packet[4])
        return length <= 183 ? length : nil
    }

    /// The random access indicator: the next PES of this PID starts at a point where decoding can begin.
    @inlinable
    public static func isRandomAccess(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard let length = adaptationLength(packet), length > 0 else { return false }
        return packet[5] & 0x40 != 0
    }

    /// Sets the discontinuity indicator: the time base (PCR) and continuity counters restart here.
    /// Needs an adaptation field, which every packet carrying a PCR has.
    @inlinable
    public static func setDiscontinuityIndicator(_ packet: UnsafeMutableRawBufferPointer) {
        guard let length = adaptationLength(UnsafeRawBufferPointer(packet)), length > 0 else { return }
        packet[5] |= 0x80
    }

    @inlinable
    public static func hasDiscontinuityIndicator(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard let length = adaptationLength(packet), length > 0 else { return false }
        return packet[5] & 0x80 != 0
    }

    /// Offset of the PCR's six bytes inside the packet, when it carries one.
    @inlinable
    static func pcrOffset(_ packet: UnsafeRawBufferPointer) -> Int? {
        guard let length = adaptationLength(packet), length >= 7, packet[5] & 0x10 != 0 else { return nil }
        return 6
    }

    /// The program clock reference in 27 MHz ticks, when the packet carries one.
    @inlinable
    public static func pcr(_ packet: UnsafeRawBufferPointer) -> Int64? {
        guard let at = pcrOffset(packet) else { return nil }
        let base = (Int64(packet[at]) << 25) | (Int64(packet[at + 1]) << 17) | (Int64(packet[at + 2]) << 9)
            | (Int64(packet[at + 3]) << 1) | (Int64(packet[at + 4]) >> 7)
        let ext = (Int64(packet[at + 4] & 0x01) << 8) | Int64(packet[at + 5])
        return base * 300 + ext
    }

    /// Adds `delta90k` (90 kHz ticks) to the PCR base, modulo 2^33. No-op without a PCR.
    @inlinable
    public static func shiftPCR(_ packet: UnsafeMutableRawBufferPointer, by delta90k: Int64) {
        guard let at = pcrOffset(UnsafeRawBufferPointer(packet)) else { return }
        let base = (Int64(packet[at]) << 25) | (Int64(packet[at + 1]) << 17) | (Int64(packet[at + 2]) << 9)
            | (Int64(packet[at + 3]) << 1) | (Int64(packet[at + 4]) >> 7)
        let shifted = (base + delta90k) & (timestampModulus - 1)
        packet[at] = UInt8(truncatingIfNeeded: shifted >> 25)
        packet[at + 1] = UInt8(truncatingIfNeeded: shifted >> 17)
        packet[at + 2] = UInt8(truncatingIfNeeded: shifted >> 9)
        packet[at + 3] = UInt8(truncatingIfNeeded: shifted >> 1)
        packet[at + 4] = (UInt8(truncatingIfNeeded: shifted & 1) << 7) | (packet[at + 4] & 0x7F)
    }

    /// Offset of the payload, or nil when the packet has none or its adaptation field is malformed.
    @inlinable
    public static func payloadOffset(_ packet: UnsafeRawBufferPointer) -> Int? {
        guard hasPayload(packet) else { return nil }
        guard hasAdaptationField(packet) else { return 4 }
        guard let length = adaptationLength(packet) else { return nil }
        let offset = 5 + length
        return offset < size ? offset : nil
    }

    /// Offsets of the PTS and DTS fields of a PES header that starts in this packet.
    @inlinable
    static func timestampOffsets(_ packet: UnsafeRawBufferPointer) -> (pts: Int?, dts: Int?) {
        guard startsPayloadUnit(packet), let at = payloadOffset(packet), at + 19 <= size else { return (nil, nil) }
        // PES start code prefix 00 00 01, then stream id, length, flags.
        guard packet[at] == 0, packet[at + 1] == 0, packet[at + 2] == 1 else { return (nil, nil) }
        let streamID = packet[at + 3]
        // Stream ids without the optional PES header (padding, private 2, ECM, ...) carry no timestamps.
        guard streamID >= 0xC0 || streamID == 0xBD else { return (nil, nil) }
        let flags = packet[at + 7] >> 6
        let pts: Int? = flags & 0x2 != 0 ? at + 9 : nil
        let dts: Int? = flags == 0x3 ? at + 14 : nil
        return (pts, dts)
    }

    @inlinable
    static func readTimestamp(_ packet: UnsafeRawBufferPointer, at: Int) -> Int64 {
        (Int64((packet[at] >> 1) & 0x07) << 30) | (Int64(packet[at + 1]) << 22)
            | (Int64(packet[at + 2] >> 1) << 15) | (Int64(packet[at + 3]) << 7) | (Int64(packet[at + 4]) >> 1)
    }

    @inlinable
    static func writeTimestamp(_ packet: UnsafeMutableRawBufferPointer, at: Int, _ value: Int64) {
        let v = value & (timestampModulus - 1)
        packet[at] = (packet[at] & 0xF1) | (UInt8(truncatingIfNeeded: v >> 29) & 0x0E)
        packet[at + 1] = UInt8(truncatingIfNeeded: v >> 22)
        packet[at + 2] = (UInt8(truncatingIfNeeded: v >> 14) & 0xFE) | 0x01
        packet[at + 3] = UInt8(truncatingIfNeeded: v >> 7)
        packet[at + 4] = (UInt8(truncatingIfNeeded: v << 1) & 0xFE) | 0x01
    }

    /// The PES presentation timestamp (90 kHz) when a PES header with one starts in this packet.
    @inlinable
    public static func pts(_ packet: UnsafeRawBufferPointer) -> Int64? {
        timestampOffsets(packet).pts.map { readTimestamp(packet, at: $0) }
    }

    /// The PES decoding timestamp (90 kHz) when a PES header with one starts in this packet.
    @inlinable
    public static func dts(_ packet: UnsafeRawBufferPointer) -> Int64? {
        timestampOffsets(packet).dts.map { readTimestamp(packet, at: $0) }
    }

    /// Adds `delta` (90 kHz ticks) to the PTS and DTS of a PES header starting here, modulo 2^33.
    @inlinable
    public static func shiftTimestamps(_ packet: UnsafeMutableRawBufferPointer, by delta: Int64) {
        let offsets = timestampOffsets(UnsafeRawBufferPointer(packet))
        if let at = offsets.pts {
            writeTimestamp(packet, at: at, readTimestamp(UnsafeRawBufferPointer(packet), at: at) + delta)
        }
        if let at = offsets.dts {
            writeTimestamp(packet, at: at, readTimestamp(UnsafeRawBufferPointer(packet), at: at) + delta)
        }
    }
}
