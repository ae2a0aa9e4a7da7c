import SharecastGuide
import Testing

/// How guide channels find catalog channels, and what `epg.mappings` overrides.
@Suite struct GuideMapperTests {
    @Test func tvgIDThenNameAndOverridesWin() {
        var mapper = GuideMapper(targets: [
            GuideMapper.Target(servedID: "bbc1.uk", name: "BBC One HD", tvgID: "bbc1.uk"),
            GuideMapper.Target(servedID: "acme.itv", name: "ITV 1", tvgID: nil),
            GuideMapper.Target(servedID: "wrong.id", name: "Something", tvgID: "wrong.id", override: "ch4.uk"),
            GuideMapper.Target(servedID: "sky.uk", name: "Sky", tvgID: "sky.uk", override: ""),
        ])
        #expect(mapper.served(for: "BBC1.UK") == ["bbc1.uk"])
        mapper.learn(GuideChannel(id: "itv-guide", displayNames: ["itv1"], icon: nil))
        #expect(mapper.served(for: "itv-guide") == ["acme.itv"])
        #expect(mapper.served(for: "ch4.uk") == ["wrong.id"])
        // An overridden channel matches nothing by itself: neither its tvg-id nor its name.
        #expect(mapper.served(for: "wrong.id").isEmpty && mapper.served(for: "sky.uk").isEmpty)
        mapper.learn(GuideChannel(id: "something-else", displayNames: ["Something"], icon: nil))
        #expect(mapper.served(for: "something-else").isEmpty)
    }
}
