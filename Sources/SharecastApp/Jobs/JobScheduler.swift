import Foundation
import Logging
import SharecastMetrics
import Synchronization
import SharecastSync

/// A background job: a name, how often, and the work, which returns a one-line summary for the log.
struct Job: Sendable {
    let name: String
    let interval: Duration
    let run: @Sendable () throws -> String
}

/// Runs jobs on one thread at their intervals. Each run is logged once and counted
/// (`sharecast_job_runs_total{job,result}`, `sharecast_job_last_success_timestamp_seconds{job}`,
/// `sharecast_job_duration_seconds{job}`); a job that throws is retried at its next interval and
/// never stops the others or the server.
final class JobScheduler: Sendable {
    struct Entry: Sendable {
        let job: Job
        let succeeded: Counter
        let failed: Counter
        let lastSuccess: Gauge
        let duration: Histogram
    }

    private let entries: [Entry]
    private let logger: Logger
    /// Sleeps until the next job is due.
    private let thread: ServiceThread
    /// Serialises runs, so `runNow` (the API's cleanup) and the timer never overlap.
    private let lock = Locked(())

    init(jobs: [Job], registry: MetricsRegistry, logger: Logger) {
        self.logger = logger
        let box = WeakBox<JobScheduler>()
        thread = ServiceThread(name: "sharecast-jobs") { thread in box.value?.loop(thread) }
        defer { box.value = self }
        entries = jobs.map { job in
            Entry(
                job: job,
                succeeded: registry.counter("sharecast_job_runs", help: "Background job runs, by job and result.",
                                            labels: [("job_name", job.name), ("result", "success")]),
                failed: registry.counter("sharecast_job_runs", help: "Background job runs, by job and result.",
                                         labels: [("job_name", job.name), ("result", "failure")]),
                lastSuccess: registry.gauge("sharecast_job_last_success_timestamp_seconds", help: "When the job last succeeded (0: not yet).",
                                            unit: "seconds", labels: [("job_name", job.name)]),
                duration: registry.histogram("sharecast_job_duration_seconds", help: "How long a job run took.", unit: "seconds",
                                             bounds: [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120], labels: [("job_name", job.name)])
            )
        }
    }

    func start() {
        thread.start()
    }

    func stop() {
        thread.stop()
    }

    /// Runs the named job now, on the caller's thread; its summary, or the error it threw.
    @discardableResult
    func runNow(_ name: String) -> Result<String, any Error>? {
        guard let entry = entries.first(where: { $0.job.name == name }) else { return nil }
        return execute(entry)
    }

    private func loop(_ thread: ServiceThread) {
        var due = entries.map { ContinuousClock.now + $0.job.interval }
        while !thread.isStopping {
            let now = ContinuousClock.now
            for index in entries.indices where due[index] <= now {
                execute(entries[index])
                due[index] = ContinuousClock.now + entries[index].job.interval
            }
            thread.wait(until: due.min())
        }
    }

    @discardableResult
    private func execute(_ entry: Entry) -> Result<String, any Error> {
        lock.withLock { _ in
            let started = ContinuousClock.now
            let result = Result { try entry.job.run() }
            let elapsed = ContinuousClock.now - started
            entry.duration.observe(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            switch result {
            case let .success(summary):
                entry.succeeded.increment()
                entry.lastSuccess.set(Date().timeIntervalSince1970)
                logger.info("job ran", metadata: ["job": "\(entry.job.name)", "result": "\(summary)"])
            case let .failure(error):
                entry.failed.increment()
                logger.error("job failed; it runs again at its next interval", metadata: ["job": "\(entry.job.name)", "error": "\(error)"])
            }
            return result
        }
    }
}
