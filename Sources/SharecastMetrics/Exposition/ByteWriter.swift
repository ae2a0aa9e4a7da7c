#if canImport(Glibc)
import Glibc
#endif

/// A growing UTF-8 buffer with the exposition formats' escaping and number forms.
///
/// It owns raw memory rather than an `[UInt8]`: a scrape is thousands of small appends, and an
/// array's uniqueness and capacity checks on each were a fifth of the scrape's time.
struct ByteWriter {
    private let storage: ByteStorage

    init(capacity: Int = 256) {
        storage = ByteStorage(capacity: capacity)
    }

    /// A copy of what was written.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: storage.base, count: storage.count)) }

    /// What was written, without a copy; the writer is left empty.
    func finish() -> ExposedBytes {
        let (memory, count) = storage.relinquish()
        return ExposedBytes(mallocated: memory, count: count)
    }
    var count: Int { storage.count }

    func truncate(to count: Int) {
        storage.count = min(storage.count, count)
    }

    @inline(__always)
    func append(_ byte: UInt8) {
        storage.reserve(1)
        storage.base[storage.count] = byte
        storage.count += 1
    }

    @inline(__always)
    func append(_ source: UnsafeRawBufferPointer) {
        guard let from = source.baseAddress, !source.isEmpty else { return }
        storage.reserve(source.count)
        (storage.base + storage.count).initialize(from: from.assumingMemoryBound(to: UInt8.self), count: source.count)
        storage.count += source.count
    }

    @inline(__always)
    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    func appendLabelValue(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\\"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\""): append(UInt8(ascii: "\\")); append(UInt8(ascii: "\""))
                case UInt8(ascii: "\n"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "n"))
                default: append(byte)
                }
            }
        }
    }

    func appendHelp(_ value: String, quotes: Bool) {
        var value = value
        value.withUTF8 { utf8 in
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\\"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\n"): append(UInt8(ascii: "\\")); append(UInt8(ascii: "n"))
                case UInt8(ascii: "\"") where quotes: append(UInt8(ascii: "\\")); append(UInt8(ascii: "\""))
                default: append(byte)
                }
            }
        }
    }

    /// Integers (most values: counters, counts, whole gauges) and decimals of up to six places
    /// (timestamps in milliseconds, ratios) without going through `String`; other values in
    /// Swift's shortest round-trip form.
    func appendNumber(_ value: Double) {
        if value == value.rounded(), abs(value) < 1e15 {
            if value < 0 { append(UInt8(ascii: "-")) }
            appendInteger(UInt64(abs(value)))
            return
        }
        let scaled = (abs(value) * 1e6).rounded()
        // Written as a fixed-point decimal only when that decimal reads back as exactly `value`.
        guard value.isFinite, scaled < 9e15, scaled / 1e6 == abs(value) else {
            append(MetricsEncoder.number(value))
            return
        }
        let micros = UInt64(scaled)
        if value < 0 { append(UInt8(ascii: "-")) }
        appendInteger(micros / 1_000_000)
        var fraction = micros % 1_000_000, places = 6
        while fraction % 10 == 0 { fraction /= 10; places -= 1 }
        append(UInt8(ascii: "."))
        var divisor: UInt64 = 1
        for _ in 1..<places { divisor *= 10 }
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
    }

    func appendInteger(_ value: UInt64) {
        if value < 10 {
            append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for UInt64.max's 20 digits
        var remaining = value
        let count = withUnsafeMutableBytes(of: &digits) { buffer in
            var count = 0
            while remaining > 0 {
                buffer[buffer.count - 1 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                count += 1
            }
            return count
        }
        withUnsafeBytes(of: &digits) { buffer in
            append(UnsafeRawBufferPointer(rebasing: buffer[(buffer.count - count)...]))
        }
    }
}

/// The memory behind a `ByteWriter`, freed with it unless `relinquish()` handed it on.
///
/// It is `malloc` memory so that a scrape's bytes can go to the HTTP server, which frees them
/// with `free()` once sent, without another copy. Its properties skip the runtime exclusivity check (a thread-local lookup per access, which
/// cost more than the copies): a storage has one writer, never shared across threads.
final class ByteStorage {
    @exclusivity(unchecked) var base: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) var count = 0
    @exclusivity(unchecked) private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = Self.allocate(self.capacity)
    }

    deinit {
        free(base)
    }

    /// The written bytes' memory, now the caller's to `free()`; the storage starts over empty.
    func relinquish() -> (memory: UnsafeMutableRawPointer, count: Int) {
        let written = (UnsafeMutableRawPointer(base), count)
        capacity = 64
        base = Self.allocate(capacity)
        count = 0
        return written
    }

    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<UInt8> {
        guard let memory = malloc(capacity) else { fatalError("out of memory (\(capacity) bytes)") }
        return memory.assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        let larger = max(needed, capacity * 2)
        guard let fresh = realloc(base, larger) else { fatalError("out of memory (\(larger) bytes)") }
        base = fresh.assumingMemoryBound(to: UInt8.self)
        capacity = larger
    }
}
