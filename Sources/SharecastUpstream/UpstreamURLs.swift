import SharecastSync

/// A channel's upstream URLs as they are when a connection is made. A provider's refresh can
/// change them (rotated tokens) and a session can move to another login of its provider (the one
/// it had was refused), so a source asks at every connect and reconnect instead of keeping the
/// list it started with; a running connection is never touched.
public final class UpstreamURLs: Sendable {
    private let resolve: @Sendable () -> [String]
    private let last: Locked<[String]>

    /// A fixed list (inline channels, tests).
    public convenience init(_ urls: [String]) {
        self.init(initial: urls) { urls }
    }

    /// `resolve` runs on the upstream loop at each connect; when it gives no URL, the list before
    /// stays in use.
    public init(initial: [String], resolve: @escaping @Sendable () -> [String]) {
        self.resolve = resolve
        last = Locked(initial)
    }

    /// The list for the connection about to be made; never empty if the initial list was not.
    public func current() -> [String] {
        let fresh = resolve()
        return last.withLock { last in
            if !fresh.isEmpty { last = fresh }
            return last
        }
    }

    /// The list the last connection was made with.
    public var lastResolved: [String] { last.withLock { $0 } }

    /// The URL at `index` (wrapping) of the last list.
    public func url(at index: Int) -> String {
        last.withLock { $0.isEmpty ? "" : $0[index % $0.count] }
    }

    public var count: Int { last.withLock { max($0.count, 1) } }

    /// Whether `url` is the primary of the last list (not a backup).
    public func isPrimary(_ url: String) -> Bool {
        last.withLock { $0.first == url }
    }
}
