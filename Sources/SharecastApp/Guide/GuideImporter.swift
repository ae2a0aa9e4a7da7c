import Foundation
import SharecastCore
import SharecastGuide
import SharecastStore
import SharecastUpstream
#if canImport(Glibc)
import Glibc
#endif

/// What one guide import did.
struct GuideImportReport: Sendable {
    var source: String
    var notModified = false
    var programmes = 0
    var skipped = 0
    var channelsMapped = 0
    var channelsUnmapped = 0
    /// The served guide channels that got programmes.
    var covered: Set<String> = []
}

/// Why a guide import failed; the source's previous guide stays.
struct GuideImportError: Error, CustomStringConvertible, Sendable {
    var source: String
    var reason: String
    var description: String { "guide \(source): \(reason)" }
}

/// Reads one guide (a URL, downloaded to a file first, or a file; gzip or plain) as a stream
/// and stores the programmes of the catalog's channels within the kept window, shifted by the
/// source's `time_shift`. Blocking: runs on the guide service's thread.
struct GuideImporter: Sendable {
    var fetcher: HTTPFetcher = {
        var fetcher = HTTPFetcher()
        fetcher.maxBytes = 4 << 30
        fetcher.timeoutSeconds = 1800
        return fetcher
    }()
    /// Decompressed guides larger than this are refused (a gzip bomb is not read to its end).
    var maxDocumentBytes = 8 << 30
    let validators = RefreshValidators()

    func refresh(_ source: GuideSourceConfig, targets: [GuideMapper.Target], settings: GuideConfig, database: SharecastDatabase,
                 workDirectory: String, now: Int64) -> Result<GuideImportReport, GuideImportError> {
        let display = source.isRemote ? StreamURLDisplay.redacted(source.source) : source.source
        func failure(_ reason: String) -> Result<GuideImportReport, GuideImportError> {
            .failure(GuideImportError(source: source.name, reason: reason))
        }
        var path = source.source
        var answered = HTTPValidators()
        if source.isRemote {
            path = workDirectory + "/guide-\(source.name).download"
            defer { if path.hasSuffix(".download") { try? FileManager.default.removeItem(atPath: path) } }
            do {
                switch try fetcher.download(source.source, to: path, userAgent: source.userAgent,
                                            ifChangedSince: validators.get(source.name, source.source)) {
                case .notModified: return .success(GuideImportReport(source: source.name, notModified: true))
                case let .changed(_, validators): answered = validators
                }
            } catch {
                return failure("\(StreamURLDisplay.redacted(error.url)): \(error.reason)")
            }
            let result = importFile(path, display: display, source: source, targets: targets, settings: settings, database: database, now: now)
            if case .success = result { validators.set(source.name, [source.source: answered]) }
            return result
        }
        return importFile(path, display: display, source: source, targets: targets, settings: settings, database: database, now: now)
    }

    func importFile(_ path: String, display: String, source: GuideSourceConfig, targets: [GuideMapper.Target], settings: GuideConfig,
                    database: SharecastDatabase, now: Int64) -> Result<GuideImportReport, GuideImportError> {
        guard let file = fopen(path, "rb") else { return .failure(GuideImportError(source: source.name, reason: "cannot open \(display)")) }
        defer { fclose(file) }
        let writer: GuideImportWriter
        do {
            writer = try database.beginGuideImport(source: source.name)
        } catch {
            return .failure(GuideImportError(source: source.name, reason: error.description))
        }
        var mapper = GuideMapper(targets: targets)
        var reader = XMLTVReader(source: display)
        var covered = Set<String>()
        var report = GuideImportReport(source: source.name)
        let from = now - Int64(settings.pastDays) * 86_400, until = now + Int64(settings.futureDays) * 86_400
        let shift = Int64(source.timeShiftSeconds)
        var inflater: Inflater?
        var documentBytes = 0
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)

        func drain() throws {
            while let item = try reader.next() {
                switch item {
                case let .channel(channel):
                    mapper.learn(channel)
                case let .programme(programme):
                    let served = mapper.served(for: programme.channel)
                    guard !served.isEmpty else { continue }
                    let start = programme.start + shift, stop = programme.stop.map { $0 + shift }
                    guard start < until, (stop ?? start + 3600) > from else { continue }
                    let body = XMLTVWriter.body(programme)
                    for id in served {
                        report.programmes += 1
                        guard report.programmes <= settings.maxProgrammes else {
                            throw GuideImportError(source: source.name, reason: "\(display) has more than \(settings.maxProgrammes) programmes in the kept window (epg.max_programmes)")
                        }
                        covered.insert(id)
                        try writer.add(StoredProgramme(channel: id, start: start, stop: stop, title: programme.title, body: body))
                    }
                }
            }
        }
        func feed(_ bytes: ArraySlice<UInt8>) throws {
            documentBytes += bytes.count
            guard documentBytes <= maxDocumentBytes else {
                throw GuideImportError(source: source.name, reason: "\(display) is larger than \(maxDocumentBytes) bytes once decompressed")
            }
            reader.feed(bytes)
            try drain()
        }
        do {
            var first = true
            while true {
                let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
                if count == 0 { break }
                let bytes = chunk[0..<count]
                if first {
                    first = false
                    if count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B {
                        guard let made = Inflater() else { throw GuideImportError(source: source.name, reason: "zlib could not be initialised") }
                        inflater = made
                    }
                }
                if let inflater {
                    try inflater.inflate(bytes, feed)
                } else {
                    try feed(bytes)
                }
            }
            guard ferror(file) == 0 else { throw GuideImportError(source: source.name, reason: "cannot read \(display)") }
            reader.finish()
            try drain()
            report.skipped = reader.skipped
            report.channelsMapped = covered.count
            report.covered = covered
            report.channelsUnmapped = mapper.servedIDs.subtracting(covered).count
            try writer.commit(channelsMapped: report.channelsMapped, channelsUnmapped: report.channelsUnmapped)
            return .success(report)
        } catch let error as GuideImportError {
            writer.abandon()
            return .failure(error)
        } catch let error as GuideError {
            writer.abandon()
            return .failure(GuideImportError(source: source.name, reason: error.description))
        } catch let error as InflateError {
            writer.abandon()
            return .failure(GuideImportError(source: source.name, reason: "\(display): \(error)"))
        } catch {
            writer.abandon()
            return .failure(GuideImportError(source: source.name, reason: "\(error)"))
        }
    }
}
