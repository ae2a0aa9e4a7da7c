import SharecastTS

/// What a source does with a chunk while its connection (or HLS segment) has not yet proved to be
/// MPEG-TS, the same for every source: nothing while the sniffer needs more, a `bad_data` failure
/// when it is not TS, and when it is, `announce` (connected, discontinuity) and then the bytes the
/// sniffer held, or this chunk itself, to the sink.
enum OpeningBytes {
    /// `verdict` is nil once the connection has proved itself: the chunk goes straight on.
    static func deliver(_ bytes: UnsafeMutableRawBufferPointer, verdict: TSSniffer.Verdict?, to sink: (any SourceSink)?,
                        announce: () -> Void) -> UpstreamFailure? {
        switch verdict {
        case .needMore:
            return nil
        case let .notTransportStream(reason):
            return UpstreamFailure(.badData, reason)
        case let .transportStream(held):
            announce()
            if var held {
                held.withUnsafeMutableBytes { sink?.sourceReceived($0) }
                return nil
            }
        case nil:
            break
        }
        sink?.sourceReceived(bytes)
        return nil
    }
}
