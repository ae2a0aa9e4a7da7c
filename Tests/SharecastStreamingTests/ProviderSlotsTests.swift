import Testing
@testable import SharecastStreaming

@Suite struct ProviderSlotsTests {
    static func slots() -> ProviderSlots {
        ProviderSlots(providers: ["acme": [ProviderSlots.Account(label: "u1", limit: 1), ProviderSlots.Account(label: "u2", limit: 2)]])
    }

    @Test func loginsAreTakenInOrderUpToTheirLimits() {
        let slots = Self.slots()
        #expect(slots.acquire("acme")?.account == 0)
        #expect(slots.acquire("acme")?.account == 1)
        #expect(slots.acquire("acme")?.account == 1)
        #expect(slots.acquire("acme") == nil)
        #expect(slots.freeSlots("acme") == 0)
        slots.release(SlotLease(provider: "acme", account: 0))
        #expect(slots.freeSlots("acme") == 1)
        #expect(slots.acquire("acme")?.account == 0)
        #expect(slots.figures.map(\.inUse) == [1, 2])
        #expect(!slots.manages("other") && slots.acquire("other") == nil)
    }

    @Test func aRefusedLoginRestsAndTheSessionMovesOn() {
        let slots = Self.slots()
        let now = ContinuousClock.now
        let first = slots.acquire("acme", now: now)!
        let moved = slots.refused(first, rest: .seconds(60), now: now)
        #expect(moved == SlotLease(provider: "acme", account: 1))
        #expect(slots.figures.map(\.inUse) == [0, 1])
        // u1 rests: new sessions take u2 until the rest is over.
        #expect(slots.acquire("acme", now: now + .seconds(1))?.account == 1)
        #expect(slots.acquire("acme", now: now + .seconds(1)) == nil)
        #expect(slots.acquire("acme", now: now + .seconds(61))?.account == 0)
        // With nowhere to go the lease is kept.
        let kept = SlotLease(provider: "acme", account: 0)
        #expect(slots.refused(kept, rest: .seconds(60), now: now + .seconds(62)) == nil)
        #expect(slots.figures.map(\.inUse) == [1, 2])
    }

    @Test func unusableLoginsAndLimitsLearnedLater() {
        let slots = ProviderSlots(providers: ["acme": [ProviderSlots.Account(label: "u1", limit: nil), ProviderSlots.Account(label: "u2", limit: nil)]])
        #expect(slots.freeSlots("acme") == nil)
        slots.setUsable("acme", account: 0, false)
        slots.setLimit("acme", account: 1, limit: 1)
        #expect(slots.freeSlots("acme") == 1)
        #expect(slots.acquire("acme")?.account == 1)
        #expect(slots.acquire("acme") == nil)
    }
}
