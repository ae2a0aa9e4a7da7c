/// Reads Prometheus text exposition (0.0.4) into samples, as a scrape would ingest them: how
/// Sharecast feeds its own metrics to its rule evaluation, so rules see exactly what a Prometheus
/// scraping it sees (`_total`, `_bucket{le}`, `_sum`, `_count` and all).
public enum TextSampleParser {
    public static func samples(_ text: String) -> [(labels: Labels, value: Double)] {
        var result: [(Labels, Double)] = []
        text.utf8.withContiguousStorageIfAvailable { bytes in
            var lineStart = 0
            while lineStart < bytes.count {
                var lineEnd = lineStart
                while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                if lineEnd > lineStart, bytes[lineStart] != UInt8(ascii: "#"),
                   let sample = parseLine(UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])) {
                    result.append(sample)
                }
                lineStart = lineEnd + 1
            }
        }
        return result
    }

    static func parseLine(_ line: UnsafeBufferPointer<UInt8>) -> (Labels, Double)? {
        var index = 0
        while index < line.count, line[index] != UInt8(ascii: "{"), line[index] != UInt8(ascii: " ") { index += 1 }
        var labels: Labels = ["__name__": String(decoding: UnsafeBufferPointer(rebasing: line[0..<index]), as: UTF8.self)]
        if index < line.count, line[index] == UInt8(ascii: "{") {
            index += 1
            while index < line.count, line[index] != UInt8(ascii: "}") {
                let nameStart = index
                while index < line.count, line[index] != UInt8(ascii: "=") { index += 1 }
                let name = String(decoding: UnsafeBufferPointer(rebasing: line[nameStart..<index]), as: UTF8.self)
                index += 2  // ="
                var value: [UInt8] = []
                while index < line.count, line[index] != UInt8(ascii: "\"") {
                    if line[index] == UInt8(ascii: "\\"), index + 1 < line.count {
                        index += 1
                        value.append(line[index] == UInt8(ascii: "n") ? UInt8(ascii: "\n") : line[index])
                    } else {
                        value.append(line[index])
                    }
                    index += 1
                }
                index += 1  // closing quote
                labels[name] = String(decoding: value, as: UTF8.self)
                if index < line.count, line[index] == UInt8(ascii: ",") { index += 1 }
            }
            index += 1  // }
        }
        while index < line.count, line[index] == UInt8(ascii: " ") { index += 1 }
        var end = index
        while end < line.count, line[end] != UInt8(ascii: " ") { end += 1 }
        let text = String(decoding: UnsafeBufferPointer(rebasing: line[index..<end]), as: UTF8.self)
        guard let value = SeriesNotation.parseValue(text) else { return nil }
        return (labels, value)
    }
}
