/// Replays a `TSClip` endlessly at its real bitrate, as one continuous stream.
///
/// Pacing is pulled, not pushed: the caller says how much time has passed since the stream began and
/// gets the packets due by then. That keeps the generator free of threads and clocks, so the HTTP
/// layer can drive many of them from one event loop and tests can drive one with a fake clock.
public struct TestPatternGenerator: Sendable {
    public let clip: TSClip
    /// Null packets to add per clip packet, as the fraction `paddingNumerator / paddingDenominator`
    /// spread evenly (error diffusion), so the padded rate is the target rate, not a rounding of it.
    private let paddingNumerator: Int64
    private let paddingDenominator: Int64
    private var paddingCarry: Int64 = 0
    private var loop: Int64 = 0
    private var index = 0
    private var paddingDue = 0

    /// `targetBitsPerSecond` above the clip's rate pads the stream with null packets (for benchmarks)
    /// without re-encoding.
    public init(clip: TSClip, targetBitsPerSecond: Int64? = nil) {
        self.clip = clip
        let clipRate = max(clip.bitsPerSecond, 1)
        if let target = targetBitsPerSecond, target > clipRate {
            paddingNumerator = target - clipRate
        } else {
            paddingNumerator = 0
        }
        paddingDenominator = clipRate
    }

    /// When the next packet is due, in 27 MHz ticks since the stream began.
    public var nextDue: Int64 { loop * clip.loopDuration27M + clip.schedule[index] }

    /// Bytes sent so far in whole loops plus the current position; useful for tests.
    public var packetsSent: Int64 { loop * Int64(clip.packetCount) + Int64(index) }

    /// Copies the packets due by `elapsed` (27 MHz ticks since the stream began), as many as fit in
    /// `buffer`. Returns the number of bytes written, always a multiple of 188.
    public mutating func read(dueBy elapsed: Int64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        while written + TSPacket.size <= buffer.count {
            let slot = UnsafeMutableRawBufferPointer(rebasing: buffer[written..<(written + TSPacket.size)])
            if paddingDue > 0 {
                Self.writeNullPacket(into: slot)
                paddingDue -= 1
                written += TSPacket.size
                continue
            }
            guard nextDue <= elapsed else { break }
            clip.copyPacket(index, loop: loop, into: slot)
            written += TSPacket.size
            paddingCarry += paddingNumerator
            paddingDue = Int(paddingCarry / paddingDenominator)
            paddingCarry %= paddingDenominator
            index += 1
            if index == clip.packetCount {
                index = 0
                loop += 1
            }
        }
        return written
    }

    static func writeNullPacket(into slot: UnsafeMutableRawBufferPointer) {
        slot[0] = TSPacket.syncByte
        slot[1] = 0x1F
        slot[2] = 0xFF
        slot[3] = 0x10
        for at in 4..<TSPacket.size { slot[at] = 0xFF }
    }
}
