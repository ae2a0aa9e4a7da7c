import SharecastCore
import SharecastHTTP
import SharecastSync

/// Provider slots: which login a new session holds, who yields when every login is busy, and
/// requests that wait for a slot (`zap_wait`).
extension SessionManager {
    struct SlotWaiter: Sendable {
        let deadline: ContinuousClock.Instant
        /// Tries again; true when the request is settled (attached, or failed for another reason).
        let retry: @Sendable () -> Bool
        /// The wait is over without a slot.
        let expire: @Sendable () -> Void
    }

    /// Like `attach`, but a request for a channel of a full provider waits up to `zap_wait` for a
    /// slot (players open the new channel a moment before they close the old one, whose session
    /// then yields its slot). `done` runs once, at once or from housekeeping.
    public func attachWhenFree(channel: CatalogChannel, ip: String, userAgent: String?, user: String? = nil,
                               requestedAt: ContinuousClock.Instant = .now,
                               done: @escaping @Sendable (Result<any StreamingBody, AttachError>) -> Void) {
        let first = attach(channel: channel, ip: ip, userAgent: userAgent, user: user, requestedAt: requestedAt, counting: false)
        guard case let .failure(.providerFull(provider)) = first, settings.zapWait > .zero else {
            countOutcome(first)
            return done(first)
        }
        let waiter = SlotWaiter(deadline: requestedAt + settings.zapWait, retry: { [weak self] in
            guard let self else { return false }
            let result = self.attach(channel: channel, ip: ip, userAgent: userAgent, user: user, requestedAt: requestedAt, counting: false)
            if case .failure(.providerFull) = result { return false }
            self.countOutcome(result)
            done(result)
            return true
        }, expire: { [weak self] in
            let failure: Result<any StreamingBody, AttachError> = .failure(.providerFull(provider: provider))
            self?.countOutcome(failure)
            done(failure)
        })
        shared.slotWaiters.withLock { $0.append(waiter) }
    }

    func countOutcome(_ result: Result<any StreamingBody, AttachError>) {
        switch result {
        case .failure(.atCapacity): metrics.reject(.streamLimit)
        case .failure(.unavailable): metrics.reject(.unavailable)
        case let .failure(.providerFull(provider)):
            metrics.reject(.providerFull)
            metrics.countProviderRefusal(provider, .limit)
        case let .failure(.providerUnusable(provider)):
            metrics.reject(.unavailable)
            metrics.countProviderRefusal(provider, .account)
        case .success: break
        }
    }

    /// A slot for a new session of `provider`'s channel (nil lease for a channel without logins).
    /// When every login is busy, a session of that provider without viewers (idle, or whose
    /// viewers all hung up) yields its slot, or with `zap_takeover` one whose only viewer asks
    /// from `ip`; `inherited` then says the slot was handed over. Runs under the sessions lock.
    func takeSlot(for provider: String, ip: String, sessions: inout [String: ChannelSession],
                  evicted: inout [ChannelSession]) -> Result<(lease: SlotLease?, inherited: Bool), AttachError> {
        guard slots.manages(provider) else { return .success((nil, false)) }
        if let lease = slots.acquire(provider) { return .success((lease, false)) }
        guard slots.hasUsableLogin(provider) else { return .failure(.providerUnusable(provider: provider)) }
        let holders = sessions.values.filter { $0.channel.source == provider && $0.slot.withLock({ $0 }) != nil }
        let victim = holders.filter { $0.clientCount == 0 }.min { ($0.idleSince ?? .now) < ($1.idleSince ?? .now) }
            ?? holders.first { $0.dropHungUpClients() }
            ?? (settings.zapTakeover.contains(provider) ? holders.first { $0.soleViewerIP == ip } : nil)
        guard let victim else { return .failure(.providerFull(provider: provider)) }
        // The slot passes straight to the new session. The victim stops first, so its upstream is
        // closed (on the loop) before the new one is opened.
        let lease = victim.slot.withLock { slot in
            defer { slot = nil }
            return slot
        }
        sessions[victim.channel.id] = nil
        if victim.clientCount > 0 { victim.dropClients(.zapped) }
        victim.stop()
        evicted.append(victim)
        return .success((lease, true))
    }

    /// The session's slot goes back once its upstream is closed (after the source's stop, on the
    /// loop); a login the provider refuses is swapped for the next free one.
    func installHooks(_ session: ChannelSession) {
        let slots = self.slots, loop = self.loop, logger = self.logger, rest = settings.refusalRest, metrics = self.metrics
        session.hooks.withLock { hooks in
            hooks.finished = { [weak session] in
                guard let lease = session?.slot.withLock({ slot -> SlotLease? in
                    defer { slot = nil }
                    return slot
                }) else { return }
                loop.schedule(after: .zero) { slots.release(lease) }
            }
            hooks.loginRefused = { [weak session] failure in
                guard let session else { return }
                metrics.countLoginRefusal(provider: session.channel.source)
                // Right after a hand-over the provider may still count the old connection: retry
                // the same login (after the back-off) without resting it.
                if session.slotInherited.load(ordering: .relaxed), !session.hasDelivered { return }
                let moved = session.slot.withLock { slot -> (from: SlotLease, to: SlotLease)? in
                    guard let current = slot, let next = slots.refused(current, rest: rest) else { return nil }
                    slot = next
                    return (current, next)
                }
                if let moved {
                    logger.warning("provider refused the login; using another", metadata: [
                        "channel": "\(session.channel.id)", "provider": "\(moved.from.provider)",
                        "from_account": "\(moved.from.account + 1)", "to_account": "\(moved.to.account + 1)", "reason": "\(failure.message)",
                    ])
                }
            }
        }
    }
}
