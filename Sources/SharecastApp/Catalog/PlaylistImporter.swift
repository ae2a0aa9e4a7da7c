import Foundation
import SharecastCore
import SharecastStore
import SharecastUpstream

/// What one playlist import did.
public struct PlaylistImportReport: Sendable {
    public var playlist: String
    public var entries: Int
    public var summary: CatalogSyncSummary
    public var warnings: [PlaylistWarning]
}

/// Why an import failed. The catalog is left as it was: a provider outage or an error page never
/// empties it.
public enum PlaylistImportError: Error, CustomStringConvertible {
    case fetch(FetchError)
    case read(FileReadError)
    case playlist(PlaylistError)
    case store(StoreError)

    public var description: String {
        switch self {
        case let .fetch(error): "cannot fetch playlist \(error)"
        case let .read(error): "cannot read playlist \(error)"
        case let .playlist(error): error.description
        case let .store(error): error.description
        }
    }
}

/// A playlist read with a conditional request.
public enum PlaylistLoad: Sendable {
    case notModified
    /// Parsed, with the validators of the version read.
    case changed(M3UParser.Result, HTTPValidators)
}

/// Loads a provider playlist (file or URL), parses it tolerantly and syncs its channels into the
/// catalog under the playlist's name. Blocking: run it off the request threads.
public struct PlaylistImporter: Sendable {
    public var fetcher = HTTPFetcher()

    public init() {}

    public func load(_ source: PlaylistSource) throws(PlaylistImportError) -> M3UParser.Result {
        switch try load(source, ifChangedSince: nil) {
        case let .changed(result, _): return result
        case .notModified: throw .fetch(FetchError(url: Self.displayName(source.source), reason: "HTTP status 304 to an unconditional request"))
        }
    }

    /// The playlist parsed, or `.notModified` when the server answers 304 to `validators` (a
    /// file is always read).
    public func load(_ source: PlaylistSource, ifChangedSince validators: HTTPValidators?) throws(PlaylistImportError) -> PlaylistLoad {
        let bytes: [UInt8]
        var answered = HTTPValidators()
        if source.isRemote {
            do {
                let headers = source.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                switch try fetcher.fetch(source.source, headers: headers, userAgent: source.userAgent, ifChangedSince: validators) {
                case .notModified: return .notModified
                case let .changed(body, validators):
                    bytes = body
                    answered = validators
                }
            } catch {
                throw .fetch(FetchError(url: Self.displayName(error.url), reason: error.reason))
            }
        } else {
            do {
                bytes = try LocalFile.read(source.source)
            } catch {
                throw .read(error)
            }
        }
        do {
            return .changed(try M3UParser(source: Self.displayName(source.source)).parse(bytes), answered)
        } catch {
            throw .playlist(error)
        }
    }

    public func importPlaylist(_ source: PlaylistSource, into database: SharecastDatabase) throws(PlaylistImportError) -> PlaylistImportReport {
        let parsed = try load(source)
        let channels = CatalogChannel.fromPlaylist(parsed.entries, playlist: source.name)
        do {
            let summary = try database.syncChannels(channels, source: source.name)
            return PlaylistImportReport(playlist: source.name, entries: parsed.entries.count, summary: summary, warnings: parsed.warnings)
        } catch {
            throw .store(error)
        }
    }

    /// URLs without their credentials (`StreamURLDisplay`); paths as they are.
    static func displayName(_ source: String) -> String {
        guard source.hasPrefix("http://") || source.hasPrefix("https://") else { return source }
        return StreamURLDisplay.redacted(source)
    }
}
