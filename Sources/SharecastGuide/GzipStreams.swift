import CZlib

/// Why a compressed guide could not be read.
public struct InflateError: Error, Equatable, CustomStringConvertible, Sendable {
    public var offset: Int
    public var reason: String
    public var description: String { "gzip data at byte \(offset): \(reason)" }
}

/// gunzip as a stream: compressed chunks in, plain chunks out, with zlib's state as the only
/// memory (32 KiB window). Several gzip members one after another are read as one document.
/// The one owner of its `z_stream`.
public final class Inflater {
    private var stream = z_stream()
    private var ready = false
    private var consumed = 0
    private var output = [UInt8](repeating: 0, count: 64 * 1024)

    public init?() {
        // 15 window bits + 32: a gzip or zlib header, detected.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        ready = true
    }

    deinit {
        if ready { inflateEnd(&stream) }
    }

    /// Inflates `input`, handing each piece of output to `sink`.
    public func inflate(_ input: ArraySlice<UInt8>, _ sink: (ArraySlice<UInt8>) throws -> Void) throws {
        guard !input.isEmpty else { return }
        try input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(source.count)
            while stream.avail_in > 0 {
                let before = Int(stream.avail_in)
                let (status, produced) = output.withUnsafeMutableBufferPointer { destination -> (Int32, Int) in
                    stream.next_out = destination.baseAddress
                    stream.avail_out = UInt32(destination.count)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (status, destination.count - Int(stream.avail_out))
                }
                consumed += before - Int(stream.avail_in)
                if produced > 0 { try sink(output[0..<produced]) }
                switch status {
                case Z_OK, Z_BUF_ERROR:
                    if produced == 0, stream.avail_in == UInt32(before) { return }
                case Z_STREAM_END:
                    // Another member may follow.
                    guard inflateReset(&stream) == Z_OK else { throw InflateError(offset: consumed, reason: "cannot read the next member") }
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw InflateError(offset: consumed, reason: message)
                }
            }
        }
    }
}

/// gzip as a stream, for `/epg.xml.gz`: plain chunks in, compressed chunks out. The one owner of
/// its `z_stream`. `@unchecked Sendable`: it may move between threads, but is used by one at a
/// time (its owner keeps it behind a lock); zlib's state has no thread affinity.
public final class Deflater: @unchecked Sendable {
    private var stream = z_stream()
    private var ready = false
    private var output = [UInt8](repeating: 0, count: 64 * 1024)

    public init?(level: Int32 = 6) {
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        ready = true
    }

    deinit {
        if ready { deflateEnd(&stream) }
    }

    /// Compresses `input` (and with `finish`, ends the stream), appending to `into`.
    public func deflate(_ input: [UInt8], finish: Bool = false, into result: inout [UInt8]) {
        input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(source.count)
            while true {
                let (status, produced) = output.withUnsafeMutableBufferPointer { destination -> (Int32, Int) in
                    stream.next_out = destination.baseAddress
                    stream.avail_out = UInt32(destination.count)
                    let status = CZlib.deflate(&stream, finish ? Z_FINISH : Z_NO_FLUSH)
                    return (status, destination.count - Int(stream.avail_out))
                }
                result.append(contentsOf: output[0..<produced])
                if status == Z_STREAM_END || status < 0 { return }
                if !finish, stream.avail_in == 0, stream.avail_out > 0 { return }
            }
        }
    }
}
