import Synchronization

/// How the samples of an aggregation fall into groups, kept across evaluation rounds.
///
/// A rule's aggregation sees the same series in the same order round after round (only their
/// values change), so the grouping worked out once from label keys is reused for as long as the
/// input series are the same: checking that compares each sample's series number in the store
/// (never reused there), where making and hashing a key was most of an aggregation's time.
/// Samples from elsewhere (without a number) are grouped afresh each time.
final class PlanCache: Sendable {
    struct Key: Hashable {
        let spec: String
        let first: Int?
        let count: Int
    }

    struct GroupingPlan: Sendable {
        /// Each sample's series (its number in the store) and whether its labels were read
        /// without the name.
        let members: [(id: Int, unnamed: Bool)]
        /// Each sample's group, and each group's labels, in order of first appearance.
        let groupOf: [Int]
        let groupLabels: [Labels]

        func fits(_ samples: [Sample]) -> Bool {
            guard samples.count == members.count else { return false }
            for (sample, member) in zip(samples, members) {
                switch sample.storage {
                case let .series(series): if series.id != member.id || member.unnamed { return false }
                case let .unnamedSeries(series): if series.id != member.id || !member.unnamed { return false }
                case .own: return false
                }
            }
            return true
        }

        /// A plan for `samples` when every one comes from a store series, else nil.
        init?(_ samples: [Sample], groupOf: [Int], groupLabels: [Labels]) {
            var members: [(id: Int, unnamed: Bool)] = []
            members.reserveCapacity(samples.count)
            for sample in samples {
                switch sample.storage {
                case let .series(series) where series.id >= 0: members.append((series.id, false))
                case let .unnamedSeries(series) where series.id >= 0: members.append((series.id, true))
                default: return nil
                }
            }
            self.members = members
            self.groupOf = groupOf
            self.groupLabels = groupLabels
        }
    }

    private let groupings = Mutex<[Key: GroupingPlan]>([:])
    /// Plans beyond this many are dropped all at once (rules were reloaded or series churned).
    static let limit = 1024

    static func key(_ spec: String, _ samples: [Sample]) -> Key {
        let first: Int? = samples.first.flatMap { sample in
            switch sample.storage {
            case let .series(series), let .unnamedSeries(series): series.id >= 0 ? series.id : nil
            case .own: nil
            }
        }
        return Key(spec: spec, first: first, count: samples.count)
    }

    func grouping(_ key: Key, for samples: [Sample]) -> GroupingPlan? {
        guard key.first != nil, let plan = groupings.withLock({ $0[key] }), plan.fits(samples) else { return nil }
        return plan
    }

    func store(_ plan: GroupingPlan, _ key: Key) {
        groupings.withLock { plans in
            if plans.count >= Self.limit { plans.removeAll() }
            plans[key] = plan
        }
    }
}
