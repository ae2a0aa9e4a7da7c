import Synchronization
import SharecastSync

/// How the samples of an aggregation fall into groups, kept across evaluation rounds.
///
/// A rule's aggregation sees the same series in the same order round after round (only their
/// values change), so the grouping worked out once from label keys is reused for as long as the
/// input series are the same: checking that compares each sample's series number in the store
/// (never reused there), where making and hashing a key was most of an aggregation's time.
/// Samples from elsewhere (without a number) are grouped afresh each time.
final class PlanCache: Sendable {
    /// Which plan to try: the grouping and a digest of the input series (plans of different
    /// inputs grouped the same way, like `sum by (instance) (x{channel!="a"})` and the same with
    /// `"b"`, must not take each other's place; a digest that still collides only costs a miss).
    struct Key: Hashable {
        let spec: String
        let count: Int
        let digest: Int
    }

    struct GroupingPlan: Sendable {
        /// Each sample's `seriesKey`: its series and whether its labels were read without the name.
        let members: [Int]
        /// Each sample's group, and each group's labels, in order of first appearance.
        let groupOf: [Int]
        let groupLabels: [Labels]

        func fits(_ samples: [Sample]) -> Bool {
            guard samples.count == members.count else { return false }
            for index in samples.indices where samples[index].seriesKey != members[index] { return false }
            return true
        }

        /// A plan for `samples` when every one comes from a store series, else nil.
        init?(_ samples: [Sample], groupOf: [Int], groupLabels: [Labels]) {
            let members = samples.map(\.seriesKey)
            guard !members.contains(-1) else { return nil }
            self.members = members
            self.groupOf = groupOf
            self.groupLabels = groupLabels
        }
    }

    private let groupings = Locked<[Key: GroupingPlan]>([:])
    /// The store whose series numbers the plans hold (kept, so no other store takes its place
    /// in memory): plans are dropped when evaluation moves to another store, whose numbers
    /// would mean other series.
    private let store = Locked<(any SeriesSource)?>(nil)

    func use(_ source: any SeriesSource) {
        let changed = store.withLock { current in
            defer { current = source }
            return current.map { ObjectIdentifier($0 as AnyObject) != ObjectIdentifier(source as AnyObject) } ?? false
        }
        if changed { groupings.withLock { $0.removeAll() } }
    }
    /// Plans beyond this many are dropped all at once (rules were reloaded or series churned).
    static let limit = 1024

    /// nil when a sample has labels of its own (no plan is kept for those).
    static func key(_ spec: String, _ samples: [Sample]) -> Key? {
        var digest = 0
        for index in samples.indices {
            let key = samples[index].seriesKey
            guard key >= 0 else { return nil }
            digest = digest &* 31 &+ key
        }
        return Key(spec: spec, count: samples.count, digest: digest)
    }

    func grouping(_ key: Key, for samples: [Sample]) -> GroupingPlan? {
        guard let plan = groupings.withLock({ $0[key] }), plan.fits(samples) else { return nil }
        return plan
    }

    func store(_ plan: GroupingPlan, _ key: Key) {
        groupings.withLock { plans in
            if plans.count >= Self.limit { plans.removeAll() }
            plans[key] = plan
        }
    }
}
