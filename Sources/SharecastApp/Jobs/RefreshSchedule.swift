import SharecastSync

/// The loop of a service that refreshes named things from the network (providers' channel
/// lists, guides): each once at start, then every `interval` after a success; after a failure
/// again after a back-off of `firstBackoff`, doubling with each failure in a row up to the
/// interval; at once when asked (`request`). An interval of zero: only at start and when asked.
///
/// One per service; the loop runs on the service's `ServiceThread`, so a refresh never overlaps
/// another of the same service.
final class RefreshSchedule: Sendable {
    struct Job: Sendable {
        var name: String
        var interval: Duration
    }

    let jobs: [Job]
    private let firstBackoff: Duration
    private let requested = Locked<Set<String>>([])

    init(jobs: [Job], firstBackoff: Duration) {
        self.jobs = jobs
        self.firstBackoff = firstBackoff
    }

    /// Asks for `name` at the loop's next turn; false when there is no such job.
    func request(_ name: String, waking thread: ServiceThread) -> Bool {
        guard jobs.contains(where: { $0.name == name }) else { return false }
        requested.withLock { _ = $0.insert(name) }
        thread.wake()
        return true
    }

    /// Asks for every job.
    func requestAll(waking thread: ServiceThread) {
        requested.withLock { $0.formUnion(jobs.map(\.name)) }
        thread.wake()
    }

    /// Runs until `thread` stops or `refresh` returns nil (its service is gone). `refresh(i)`
    /// runs job `i` and says whether it succeeded.
    func run(on thread: ServiceThread, _ refresh: (Int) -> Bool?) {
        var due = Dictionary(jobs.map { ($0.name, ContinuousClock.now) }, uniquingKeysWith: { first, _ in first })
        var failures: [String: Int] = [:]
        while !thread.isStopping {
            let asked = requested.withLock { names in
                defer { names.removeAll() }
                return names
            }
            let now = ContinuousClock.now
            for (index, job) in jobs.enumerated() where !thread.isStopping {
                guard asked.contains(job.name) || (due[job.name].map { $0 <= now } ?? false) else { continue }
                guard let ok = refresh(index) else { return }
                failures[job.name] = ok ? 0 : (failures[job.name] ?? 0) + 1
                if job.interval > .zero {
                    let backoff = firstBackoff * (1 << min((failures[job.name] ?? 1) - 1, 10))
                    due[job.name] = .now + (ok ? job.interval : min(backoff, job.interval))
                } else {
                    due[job.name] = nil
                }
            }
            guard thread.wait(until: due.values.min() ?? .now + .seconds(3600)) else { break }
        }
    }
}
