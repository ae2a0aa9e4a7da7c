import Foundation
import SharecastCore
import SharecastGuide
import SharecastStore
import SharecastUpstream

/// What one guide import did.
struct GuideImportReport: Sendable {
    var source: String
    var notModified = false
    /// A provider's guide that names no location now (an M3U without `url-tvg`): nothing read.
    var nothingNamed = false
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

    /// Where one import reads from: the source's locations (a provider's playlist may name
    /// several guides; they are read in turn into one generation) and what its requests send.
    struct Locations: Sendable {
        var locations: [String]
        var headers: [(String, String)] = []
        var userAgent: String?
    }

    /// One import. A single remote location is asked conditionally (304: nothing is read);
    /// several are read whole each time, since the generation replaces all of them at once.
    func refresh(_ source: GuideSourceConfig, from origin: Locations, targets: [GuideMapper.Target], settings: GuideConfig,
                 database: SharecastDatabase, workDirectory: String, now: Int64) -> Result<GuideImportReport, GuideImportError> {
        guard !origin.locations.isEmpty else { return .success(GuideImportReport(source: source.name, notModified: true, nothingNamed: true)) }
        var files: [(path: String, display: String)] = []
        var downloaded: [String] = []
        defer { for path in downloaded { try? FileManager.default.removeItem(atPath: path) } }
        var answered: [String: HTTPValidators] = [:]
        let conditional = origin.locations.count == 1
        for (index, location) in origin.locations.enumerated() {
            guard GuideSourceConfig.isRemote(location) else {
                files.append((location, location))
                continue
            }
            let path = workDirectory + "/guide-\(source.name)-\(index).download"
            downloaded.append(path)
            do {
                switch try fetcher.download(location, to: path, headers: origin.headers, userAgent: origin.userAgent,
                                            ifChangedSince: conditional ? validators.get(source.name, location) : nil) {
                case .notModified: return .success(GuideImportReport(source: source.name, notModified: true))
                case let .changed(_, validators): answered[location] = validators
                }
            } catch {
                return .failure(GuideImportError(source: source.name, reason: "\(StreamURLDisplay.redacted(error.url)): \(error.reason)"))
            }
            files.append((path, StreamURLDisplay.redacted(location)))
        }
        let result = importFiles(files, source: source, targets: targets, settings: settings, database: database, now: now)
        if case .success = result { validators.set(source.name, answered) }
        return result
    }

    /// Reads the files in turn into one new generation of the source's guide, committed only
    /// when every one of them was read to its end.
    func importFiles(_ files: [(path: String, display: String)], source: GuideSourceConfig, targets: [GuideMapper.Target], settings: GuideConfig,
                     database: SharecastDatabase, now: Int64) -> Result<GuideImportReport, GuideImportError> {
        let writer: GuideImportWriter
        do {
            writer = try database.beginGuideImport(source: source.name)
        } catch {
            return .failure(GuideImportError(source: source.name, reason: error.description))
        }
        var run = GuideImportRun(source: source, targets: targets, settings: settings, writer: writer,
                                 maxDocumentBytes: maxDocumentBytes, now: now)
        do {
            for (path, display) in files { try run.read(path: path, display: display) }
            let report = run.finish()
            try writer.commit(channelsMapped: report.channelsMapped, channelsUnmapped: report.channelsUnmapped)
            return .success(report)
        } catch let error as GuideImportError {
            writer.abandon()
            return .failure(error)
        } catch let error as GuideError {
            writer.abandon()
            return .failure(GuideImportError(source: source.name, reason: error.description))
        } catch {
            writer.abandon()
            return .failure(GuideImportError(source: source.name, reason: "\(error)"))
        }
    }
}
