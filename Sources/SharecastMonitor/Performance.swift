import Foundation
import SharecastStore

/// `GET /api/monitor/performance`: a time series from `shared_stream_stats`, with a bucket size
/// fitted to the period (1h: 1 min, 6h: 5 min, 24h: 15 min, 7d: 2 h), buckets aligned to the Unix
/// epoch, the last one holding now, and empty buckets as 0.
///
/// Per bucket: `bandwidth` is the sum over streams of each stream's average upstream rate (kbit/s),
/// `clients` the sum of each stream's average viewer count, `streams` how many streams were sampled,
/// `errors` the sum of each stream's error-count growth within the bucket.
enum Performance {
    enum Period: String, CaseIterable, Sendable {
        case hour = "1h", sixHours = "6h", day = "24h", week = "7d"

        var bucketSeconds: Int {
            switch self {
            case .hour: 60
            case .sixHours: 300
            case .day: 900
            case .week: 7200
            }
        }

        var seconds: Int {
            switch self {
            case .hour: 3600
            case .sixHours: 6 * 3600
            case .day: 24 * 3600
            case .week: 7 * 24 * 3600
            }
        }
    }

    enum Metric: String, CaseIterable, Sendable {
        case bandwidth, clients, streams, errors

        var unit: String {
            switch self {
            case .bandwidth: "kbps"
            case .clients: "clients"
            case .streams: "streams"
            case .errors: "errors"
            }
        }
    }

    struct Point: Encodable, Sendable, Equatable {
        var t: Date
        var value: Double
    }

    struct Series: Encodable, Sendable {
        var period: String
        var metric: String
        var unit: String
        var bucketSeconds: Int
        var from: Date
        var to: Date
        var stream: String?
        var points: [Point]
    }

    /// The buckets' window: `[from, to)` in whole Unix seconds.
    static func window(_ period: Period, now: Date) -> (from: Int64, to: Int64, count: Int) {
        let size = Int64(period.bucketSeconds)
        let count = period.seconds / period.bucketSeconds
        let last = Int64(now.timeIntervalSince1970) / size * size
        return (last - Int64(count - 1) * size, last + size, count)
    }

    static func points(_ rows: [SharecastDatabase.StatsBucketRow], metric: Metric, period: Period, from: Int64, count: Int) -> [Point] {
        let size = Int64(period.bucketSeconds)
        var values = [Double](repeating: 0, count: count)
        for row in rows {
            let index = Int((row.bucketStart - from) / size)
            guard values.indices.contains(index) else { continue }
            switch metric {
            case .bandwidth: values[index] += row.averageBandwidthBps / 1000
            case .clients: values[index] += row.averageClients
            case .streams: values[index] += 1
            case .errors: values[index] += Double(row.errorIncrease)
            }
        }
        return values.enumerated().map { index, value in
            Point(t: Date(timeIntervalSince1970: Double(from + Int64(index) * size)), value: (value * 100).rounded() / 100)
        }
    }
}
