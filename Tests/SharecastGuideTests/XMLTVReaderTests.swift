import Testing
@testable import SharecastGuide

@Suite struct XMLTVReaderTests {
    static func read(_ text: String, chunk: Int = 7, limits: XMLTVReader.Limits = .init()) throws(GuideError) -> [XMLTVReader.Item] {
        var reader = XMLTVReader(source: "guide.xml", limits: limits)
        var items: [XMLTVReader.Item] = []
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            reader.feed(bytes[offset..<min(offset + chunk, bytes.count)])
            offset += chunk
            while let item = try reader.next() { items.append(item) }
        }
        reader.finish()
        while let item = try reader.next() { items.append(item) }
        return items
    }

    static let sample = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE tv SYSTEM "xmltv.dtd">
        <!-- a comment -->
        <tv generator-info-name="test">
          <channel id="news1.example"><display-name lang="en">News One</display-name><icon src="http://logo/n.png"/></channel>
          <channel id="ntv.jp"><display-name>日本テレビ</display-name></channel>
          <programme start="20261202180000 +0100" stop="20261202190000 +0100" channel="news1.example">
            <title lang="en">Evening &amp; News</title>
            <sub-title>Part &#x31;</sub-title>
            <desc lang="en"><![CDATA[Headlines <live>]]></desc>
            <credits><actor>Someone</actor></credits>
            <date>2026</date>
            <category lang="en">News</category>
            <icon src="http://img/p.png"/>
            <episode-num system="xmltv_ns">0.4.</episode-num>
            <previously-shown/>
            <rating system="MPAA"><value>PG</value></rating>
          </programme>
          <programme start="bad" channel="news1.example"><title>Skipped</title></programme>
          <programme start="20261202190000" channel="news1.example"><desc>no title</desc></programme>
        </tv>
        """

    @Test(arguments: [1, 7, 4096])
    func aGuideReadInAnyChunkSizeGivesTheSameItems(chunk: Int) throws {
        let items = try Self.read(Self.sample, chunk: chunk)
        #expect(items.count == 3)
        #expect(items[0] == .channel(GuideChannel(id: "news1.example", displayNames: ["News One"], icon: "http://logo/n.png")))
        #expect(items[1] == .channel(GuideChannel(id: "ntv.jp", displayNames: ["日本テレビ"])))
        guard case let .programme(programme) = items[2] else { Issue.record("not a programme"); return }
        #expect(programme.start == 1_796_230_800 && programme.stop == programme.start + 3600)
        #expect(programme.titles == [LocalizedText("Evening & News", lang: "en")])
        #expect(programme.subTitles == [LocalizedText("Part 1")])
        #expect(programme.descriptions == [LocalizedText("Headlines <live>", lang: "en")])
        #expect(programme.date == "2026" && programme.categories == [LocalizedText("News", lang: "en")])
        #expect(programme.icons == ["http://img/p.png"] && programme.episodeNumbers == [LocalizedText("0.4.", lang: "xmltv_ns")])
        #expect(programme.previouslyShown && !programme.isNew && programme.ratings == [LocalizedText("PG", lang: "MPAA")])
    }

    @Test func timesParseWithAndWithoutOffsetsAndRoundTrip() {
        #expect(XMLTVTime.parse("20261202170000 +0000") == 1_796_230_800)
        #expect(XMLTVTime.parse("20261202170000") == 1_796_230_800)
        #expect(XMLTVTime.parse("202612021700 -0130") == Int64(1_796_236_200))
        #expect(XMLTVTime.parse("20261202170000 UTC") == 1_796_230_800)
        #expect(XMLTVTime.format(1_796_230_800) == "20261202170000 +0000")
        for bad in ["", "2026", "20261302170000", "20260230120000", "20261202250000", "99999999999999", "20261202170000 +9900", "20261202170000 +01", "20261202170000 EST"] {
            #expect(XMLTVTime.parse(bad) == nil, "\(bad)")
        }
        #expect(XMLTVTime.format(-1) == "19691231235959 +0000")
    }

    /// Each refused with its place, never a crash.
    static let refused: [(String, String)] = [
        ("<tv><channel id=\"a\">", "ends with <channel> open"),
        ("not xml at all", "text outside the root element"),
        ("<html><body>502</body></html>", "the root element is <html>, not <tv>"),
        ("<!DOCTYPE tv [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><tv>&lol2;</tv>", "declares entities"),
        ("<tv><channel id=\"a\"><display-name>&nbsp;</display-name></channel></tv>", "reference to entity &nbsp;"),
        ("<tv></channel></tv>", "</channel> closes <tv>"),
        ("<tv a=1></tv>", "not quoted"),
        ("<tv>&#0;</tv>", "no allowed character"),
        ("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><tv/>", "encoding \"shift_jis\" is not read"),
        ("<tv></tv><tv></tv>", "a second root element"),
        ("", "no root element"),
    ]

    @Test(arguments: 0..<refused.count)
    func badGuidesAreRefusedWithTheirPlace(index: Int) {
        let (text, reason) = Self.refused[index]
        do {
            _ = try Self.read(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.hasPrefix("guide.xml:"), "\(error)")
            #expect(error.description.contains(reason), "\(error)")
        }
    }

    @Test func limitsBoundWhatOneElementMayHold() {
        var limits = XMLTVReader.Limits()
        limits.maxElementBytes = 1000
        let big = "<tv><programme start=\"20261202170000\" channel=\"a\"><title>\(String(repeating: "x", count: 2000))</title></programme></tv>"
        #expect(throws: GuideError.self) { _ = try Self.read(big, limits: limits) }
        var deep = XMLTVReader.Limits()
        deep.xml.maxDepth = 8
        let nested = "<tv>" + String(repeating: "<a>", count: 20) + String(repeating: "</a>", count: 20) + "</tv>"
        #expect(throws: GuideError.self) { _ = try Self.read(nested, limits: deep) }
    }

    @Test func latin1GuidesAreRead() throws {
        var reader = XMLTVReader(source: "latin1.xml")
        reader.feed(Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><tv><channel id=\"c\"><display-name>".utf8) + [0x43, 0x61, 0x66, 0xE9] + Array("</display-name></channel></tv>".utf8))
        reader.finish()
        #expect(try reader.next() == .channel(GuideChannel(id: "c", displayNames: ["Café"])))
    }
}
