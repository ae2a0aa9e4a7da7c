/// Binary operators between two instant vectors, as the Prometheus engine matches them.
enum VectorMatching {
    /// How two samples' match keys are made: from the `on` labels (names sorted once), or from
    /// every label but the name and the `ignoring` ones (the store's precomputed key when there
    /// is nothing to ignore).
    struct Keyer {
        let on: [String]?
        let ignoring: Set<String>
        /// What the key is made of, to find it again among a series' keys.
        let spec: String

        init(_ modifiers: BinaryModifiers) {
            on = modifiers.on == true ? modifiers.matchingLabels.sorted() : nil
            ignoring = modifiers.on == true ? [] : Set(modifiers.matchingLabels)
            spec = (on.map { "on\u{1}" + $0.joined(separator: "\u{1}") } ?? "ignoring\u{1}" + ignoring.sorted().joined(separator: "\u{1}"))
        }

        func key(_ sample: Sample) -> String {
            if on == nil, ignoring.isEmpty { return sample.unnamedSignature }
            return sample.key(spec, make: make)
        }

        private func make(_ labels: Labels) -> String {
            if let on {
                var key = ""
                for name in on {
                    key += name
                    key += "\u{1}"
                    key += labels[name] ?? ""
                    key += "\u{2}"
                }
                return key
            }
            return labels.signature(excluding: ignoring.union(["__name__"]))
        }
    }

    static func set(_ op: BinaryOp, _ left: [Sample], _ right: [Sample], _ modifiers: BinaryModifiers) -> [Sample] {
        let keyer = Keyer(modifiers)
        let rightSigs = Set(right.map(keyer.key))
        switch op {
        case .and: return left.filter { rightSigs.contains(keyer.key($0)) }
        case .unless: return left.filter { !rightSigs.contains(keyer.key($0)) }
        default:
            let leftSigs = Set(left.map(keyer.key))
            return left + right.filter { !leftSigs.contains(keyer.key($0)) }
        }
    }

    static func binary(_ op: BinaryOp, _ left: [Sample], _ right: [Sample], _ modifiers: BinaryModifiers) throws(PromQLError) -> [Sample] {
        // With group_right the right side is the "many" side: swap, then swap values back for the op.
        let (many, one) = modifiers.card == .oneToMany ? (right, left) : (left, right)
        let keyer = Keyer(modifiers)
        var oneBySig: [String: Sample] = [:]
        for sample in one {
            let sig = keyer.key(sample)
            if oneBySig[sig] != nil {
                let side = modifiers.card == .oneToMany ? "left" : "right"
                throw PromQLError("found duplicate series for the match group \(sample.labels.promString) on the \(side) hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side")
            }
            oneBySig[sig] = sample
        }
        let dropName = !op.isComparison || modifiers.returnBool
        var result: [Sample] = []
        var matchedSigs = Set<String>(), outputSigs = Set<String>()
        for sample in many {
            let sig = keyer.key(sample)
            guard let other = oneBySig[sig] else { continue }
            var (a, b) = (sample.value, other.value)
            if modifiers.card == .oneToMany { (a, b) = (b, a) }
            let (computed, keep) = Evaluator.apply(op, a, b)
            var value = computed
            if modifiers.returnBool {
                value = keep ? 1 : 0
            } else if !keep {
                continue
            }
            var labels = sample.labels
            if dropName { labels["__name__"] = nil }
            if modifiers.card == .oneToOne {
                if modifiers.on == true {
                    labels = labels.filter { modifiers.matchingLabels.contains($0.key) }
                } else {
                    for name in modifiers.matchingLabels { labels[name] = nil }
                }
                if !matchedSigs.insert(sig).inserted {
                    throw PromQLError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                }
            } else {
                for name in modifiers.include {
                    labels[name] = other.labels[name]
                }
                if !outputSigs.insert(labels.signature()).inserted {
                    throw PromQLError("multiple matches for labels: grouping labels must ensure unique matches")
                }
            }
            result.append(Sample(labels: labels, value: value))
        }
        return result
    }
}
