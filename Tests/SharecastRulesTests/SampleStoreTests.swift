import Foundation
import Synchronization
import Testing
@testable import SharecastRules

/// The rule evaluator's store: staleness markers left out of ranges and instant reads, also after
/// a point is replaced and after trimming; series read in label order.
@Suite struct SampleStoreTests {
    static let labels: Labels = ["__name__": "up", "job": "a"]

    func range(_ store: SampleStore, _ expression: String, at time: Int64) throws -> [[Double]] {
        guard case let .matrix(series) = try Evaluator(source: store).evaluate(try Query(expression), at: time) else { return [] }
        return series.map { $0.points.map(\.v) }
    }

    func instant(_ store: SampleStore, _ expression: String, at time: Int64) throws -> [Double] {
        guard case let .vector(samples) = try Evaluator(source: store).evaluate(try Query(expression), at: time) else { return [] }
        return samples.map(\.value)
    }

    @Test func staleMarkersAreLeftOutThroughReplacementAndTrimming() throws {
        let store = SampleStore()
        store.append(Self.labels, Point(t: 0, v: 1))
        store.append(Self.labels, Point(t: 15_000, v: StaleMarker.value))
        store.append(Self.labels, Point(t: 30_000, v: 3))
        #expect(try range(store, "up[1m]", at: 30_000) == [[1, 3]])
        #expect(try instant(store, "up", at: 20_000) == [])
        #expect(try instant(store, "up", at: 30_000) == [3])

        // A point at the same time replaces: a stale marker becomes a value and back.
        store.append(Self.labels, Point(t: 15_000, v: 2))
        store.append(Self.labels, Point(t: 30_000, v: 4))
        #expect(try range(store, "up[1m]", at: 30_000) == [[1, 4]])
        store.append(Self.labels, Point(t: 30_000, v: StaleMarker.value))
        #expect(try range(store, "up[1m]", at: 30_000) == [[1]])
        #expect(try instant(store, "up", at: 30_000) == [])

        store.append(Self.labels, Point(t: 45_000, v: 5))
        store.trim(before: 20_000)
        #expect(try range(store, "up[1m]", at: 45_000) == [[5]])
        store.append(Self.labels, Point(t: 60_000, v: 6))
        #expect(try range(store, "up[1m]", at: 60_000) == [[5, 6]])
    }

    @Test func selectionsFollowSeriesComingAndGoing() throws {
        let store = SampleStore()
        store.append(["__name__": "up", "job": "a"], Point(t: 0, v: 1))
        store.append(["__name__": "up", "job": "b"], Point(t: 0, v: 2))
        #expect(try instant(store, #"up{job!="b"}"#, at: 0) == [1])
        #expect(try instant(store, #"{job="a"}"#, at: 0) == [1])
        // Another metric's new series: seen by selectors without a name, not by this one.
        store.append(["__name__": "other", "job": "a"], Point(t: 0, v: 7))
        #expect(try instant(store, #"up{job!="b"}"#, at: 0) == [1])
        #expect(try instant(store, #"{job="a"}"#, at: 0) == [7, 1])
        // A new series matching the same selector is seen at once.
        store.append(["__name__": "up", "job": "c"], Point(t: 60_000, v: 3))
        #expect(try instant(store, #"up{job!="b"}"#, at: 60_000) == [1, 3])
        // Its newest point is not read for an earlier time.
        #expect(try instant(store, #"up{job!="b"}"#, at: 30_000) == [1])
        // A series trimmed away is gone from the same selection.
        store.append(["__name__": "up", "job": "c"], Point(t: 400_000, v: 4))
        store.trim(before: 100_000)
        #expect(try instant(store, #"up{job!="b"}"#, at: 400_000) == [4])
        #expect(try range(store, #"up{job!="b"}[10m]"#, at: 400_000) == [[4]])
    }

    /// Series growing, trimmed and sliding within the shared points array, against a plain
    /// array per series.
    @Test func pointsSurviveGrowthTrimsAndCompaction() throws {
        let store = SampleStore()
        var model: [String: [Point]] = [:]
        var state: UInt64 = 42
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let jobs = (0..<6).map { "j\($0)" }
        // Even jobs are counters that only go up (so `increase` may skip its scan for resets),
        // odd ones go up and down; some points are staleness markers.
        var totals: [String: Double] = [:]
        for step in 1...600 {
            let time = Int64(step) * 1000
            for (number, job) in jobs.enumerated() where next(3) != 0 {
                totals[job, default: 0] += Double(next(1000))
                let value = number % 2 == 0 ? totals[job, default: 0] : Double(next(1000))
                let point = Point(t: time, v: next(number % 2 == 0 ? 50 : 5) == 0 ? StaleMarker.value : value)
                store.append(["__name__": "m", "job": job], point)
                model[job, default: []].append(point)
            }
            if step % 97 == 0 {
                let cutoff = time - Int64(next(150)) * 1000
                store.trim(before: cutoff)
                for job in jobs { model[job]?.removeAll { $0.t < cutoff } }
                model = model.filter { !$0.value.isEmpty }
            }
            if step % 13 == 0 {
                let expected = jobs.compactMap { job -> [Double]? in
                    let values = (model[job] ?? []).filter { !StaleMarker.isStale($0.v) }.map(\.v)
                    return values.isEmpty ? nil : values
                }
                #expect(try range(store, "m[1000s]", at: time) == expected, "step \(step)")
                let increases = jobs.compactMap { job -> Double? in
                    let points = (model[job] ?? []).filter { !StaleMarker.isStale($0.v) && $0.t >= time - 1_000_000 }
                    return Functions.extrapolatedRate(points[...], start: time - 1_000_000, end: time, range: 1_000_000, isCounter: true, isRate: false)
                }
                #expect(try instant(store, "increase(m[1000s])", at: time) == increases, "step \(step)")
                // Means are made two series at a time: each exactly as alone.
                let means = expected.map { Kahan.mean($0) }
                #expect(try instant(store, "avg_over_time(m[1000s])", at: time).elementsEqual(means) { $0.bitPattern == $1.bitPattern }, "step \(step)")
            }
        }
    }

    /// Kept groupings hold series numbers of one store: another store's same numbers are other
    /// series, so moving to it starts afresh.
    @Test func keptGroupingsDoNotCrossStores() throws {
        let plans = PlanCache()
        let query = try Query("sum by (instance) (x)")
        for instance in ["a", "b"] {
            let store = SampleStore()
            for channel in 0..<3 { store.append(["__name__": "x", "instance": instance, "channel": "\(channel)"], Point(t: 0, v: 1)) }
            for _ in 0..<2 {
                guard case let .vector(samples) = try Evaluator(source: store, cache: nil, plans: plans).evaluate(query, at: 0) else {
                    Issue.record("not a vector")
                    return
                }
                #expect(samples.map(\.labels) == [["instance": instance]])
                #expect(samples.map(\.value) == [3])
            }
        }
    }

    @Test func selectorsWithoutANameReadEveryMetricInLabelOrder() throws {
        let store = SampleStore()
        store.append(["__name__": "y", "job": "a"], Point(t: 0, v: 3))
        store.append(["__name__": "x", "job": "b"], Point(t: 0, v: 2))
        store.append(["__name__": "x", "job": "a"], Point(t: 0, v: 1))
        store.append(["__name__": "z", "job": "b"], Point(t: 0, v: 4))
        #expect(try instant(store, #"{job="a"}"#, at: 0) == [1, 3])
        #expect(try instant(store, #"{job=~"a|b"}"#, at: 0) == [1, 2, 3, 4])
        #expect(try range(store, #"{job="b"}[1m]"#, at: 0) == [[2], [4]])
    }

    @Test func seriesComeInLabelOrderAndKeysFollowTheLabels() throws {
        let store = SampleStore()
        for job in ["c", "a", "b"] {
            store.append(["__name__": "up", "job": job, "instance": "x"], Point(t: 0, v: job == "a" ? 1 : 2))
        }
        guard case let .vector(samples) = try Evaluator(source: store).evaluate(try Query("up"), at: 0) else {
            Issue.record("not a vector")
            return
        }
        #expect(samples.map { $0.labels["job"] } == ["a", "b", "c"])
        // The same grouping twice (keys kept with the series the second time) and a changed sample.
        let query = try Query("sum by (instance) (up) + on(instance) group_left count by (instance) (up)")
        for _ in 0..<2 {
            #expect(try Evaluator(source: store).evaluate(query, at: 0).vectorValues == [8])
        }
        var changed = samples[0]
        changed.labels["instance"] = "y"
        #expect(changed.key("test\u{1}instance") { $0["instance"] ?? "" } == "y")
        #expect(samples[0].key("test\u{1}instance") { $0["instance"] ?? "" } == "x")
    }
}

extension QueryValue {
    var vectorValues: [Double] {
        guard case let .vector(samples) = self else { return [] }
        return samples.map(\.value)
    }
}

/// Alert state is read by HTTP threads while the rules thread evaluates (run under `make tsan`).
@Suite struct GroupReportTests {
    @Test func readersSeeWholeRoundsWhileTheGroupEvaluates() throws {
        let (groups, problems) = RuleFileLoader.parse("""
            groups:
              - name: g
                rules:
                  - alert: High
                    expr: x > 1
                  - record: y
                    expr: x * 2
            """, file: "r.yml")
        #expect(problems.isEmpty)
        let group = try #require(groups.first)
        let state = GroupState(group: group)
        let store = SampleStore()
        let done = Atomic<Bool>(false)
        let evaluator = Thread {
            for round in 0..<2000 {
                store.append(["__name__": "x", "i": "\(round % 7)"], Point(t: Int64(round) * 1000, v: Double(round % 3)))
                state.evaluate(at: Int64(round) * 1000, source: store, store: store)
            }
            done.store(true, ordering: .releasing)
        }
        evaluator.start()
        var last: Int64 = -1
        while !done.load(ordering: .acquiring) {
            let report = state.report
            #expect(report.alerts.count == 2 && report.lastErrors.count == 2 && report.ruleDurations.count == 2)
            let time = report.lastEvaluation ?? -1
            #expect(time >= last, "rounds are published in order")
            last = time
        }
        #expect(state.report.lastEvaluation == 1_999_000)
    }
}
