import Foundation
import Testing
@testable import SharecastCore

@Suite struct M3UParserTests {
    @Test func readsCRLFAndABOMAndKeepsAttributes() throws {
        let text = "#EXTM3U url-tvg=\"http://epg\"\r\n"
            + "#EXTINF:-1 tvg-id=\"one.uk\" tvg-name=\"One\" tvg-logo=\"http://l/1.png\" group-title=\"News, World\",One HD\r\n"
            + "http://provider.example/live/u/p/1.ts\r\n"
        let bytes = [0xEF, 0xBB, 0xBF] + Array(text.utf8)
        let result = try M3UParser(source: "p.m3u").parse(bytes)
        #expect(result.warnings.isEmpty)
        #expect(result.entries == [M3UEntry(
            line: 2, title: "One HD", url: "http://provider.example/live/u/p/1.ts",
            attributes: ["tvg-id": "one.uk", "tvg-name": "One", "tvg-logo": "http://l/1.png", "group-title": "News, World"]
        )])
    }

    @Test func toleratesAMissingHeaderOddAttributeOrderAndUnquotedValues() throws {
        let text = """
        #EXTINF:0 group-title=Sports tvg-ID='two' ,Two
        #EXTVLCOPT:http-user-agent=VLC/3.0
        https://p.example/2.m3u8
        #EXTINF:-1,Three
        #EXTGRP:Movies
        http://p.example/3
        http://p.example/bare.ts
        """
        let result = try M3UParser(source: "p.m3u").parse(text: text)
        #expect(result.warnings.isEmpty)
        #expect(result.entries.map(\.title) == ["Two", "Three", ""])
        #expect(result.entries[0].attributes == ["group-title": "Sports", "tvg-id": "two"])
        #expect(result.entries[0].userAgent == "VLC/3.0")
        #expect(result.entries[1].group == "Movies")
        #expect(result.entries[2].displayName == "bare.ts")
        #expect(result.entries.map(\.line) == [1, 4, 7])
    }

    @Test func aNULByteIsRefusedWithItsLineAndColumn() {
        let bytes = [0xEF, 0xBB, 0xBF] + Array("#EXTM3U\n#EXTINF:-1,A\nhttp://x/a".utf8) + [0] + Array("b\n".utf8)
        #expect(throws: PlaylistError.notAPlaylist(source: "p.m3u:3:11", reason: "a NUL byte (binary data?)")) {
            try M3UParser(source: "p.m3u").parse(bytes)
        }
    }

    @Test func placesCountLinesAndCharacters() {
        #expect(TextPlace.of(byte: 0, in: Array("abc".utf8)) == TextPlace(line: 1, column: 1))
        #expect(TextPlace.of(byte: 6, in: Array("é\nxyz".utf8)) == TextPlace(line: 2, column: 4))
        #expect(TextPlace.firstInvalidUTF8(in: Array("ok\nfine é".utf8)) == nil)
        #expect(TextPlace.firstInvalidUTF8(in: [0x61, 0x0A, 0x62, 0xC0, 0x80])?.place == TextPlace(line: 2, column: 2))
        #expect(TextPlace.firstInvalidUTF8(in: [0xED, 0xA0, 0x80])?.byte == 0xED, "a surrogate is not UTF-8")
        #expect(TextPlace.firstInvalidUTF8(in: [0xE2, 0x82])?.place == TextPlace(line: 1, column: 1), "a cut sequence")
    }

    @Test func bareCarriageReturnsCountAsLineEnds() throws {
        let result = try M3UParser(source: "p.m3u").parse(text: "#EXTM3U\r#EXTINF:-1,A\rhttp://a/1\r")
        #expect(result.entries.map(\.url) == ["http://a/1"])
        #expect(result.entries.map(\.line) == [2])
    }

    @Test func brokenEntriesAreSkippedWithFileAndLine() throws {
        let text = """
        #EXTM3U
        #EXTINF:-1 tvg-id="a",A
        #EXTINF:-1 tvg-id="b",B
        http://p/b
        #EXTINF:-1 tvg-name="unterminated,C
        http://p/c
        #EXTINF:-1,D
        rtmp://p/d
        #EXTINF:-1 no comma at all
        http://p/e
        #EXTINF:-1,F
        http://p/f
        #EXTINF:-1,G
        """
        let result = try M3UParser(source: "provider.m3u").parse(text: text)
        #expect(result.entries.map(\.title) == ["B", "F"])
        #expect(result.warnings.map(\.description) == [
            "provider.m3u:2: #EXTINF has no URL after it; skipped",
            "provider.m3u:5: unterminated quote in attribute tvg-name; entry skipped",
            #"provider.m3u:8: expected an http(s) URL, got "rtmp://p/d"; entry skipped"#,
            "provider.m3u:9: #EXTINF without a title (no comma); entry skipped",
            "provider.m3u:13: #EXTINF has no URL after it; skipped",
        ])
    }

    @Test func refusesThingsThatAreNotPlaylists() {
        #expect(throws: PlaylistError.self) { try M3UParser(source: "x").parse(text: "<!DOCTYPE html><html>403</html>") }
        #expect(throws: PlaylistError.self) { try M3UParser(source: "x").parse([0x47, 0x00, 0x11]) }
        #expect(throws: PlaylistError.self) { try M3UParser(source: "x").parse(text: "  \n\n") }
    }

    @Test func writerOutputReadsBackTheSame() throws {
        let items = [
            M3UWriter.Item(title: "One, HD", url: "http://s/stream/k1", tvgID: "one.uk", tvgName: "One \"HD\"", logo: "http://l/1.png", group: "News"),
            M3UWriter.Item(title: "Two", url: "http://s/stream/k2"),
        ]
        let result = try M3UParser(source: "served").parse(text: M3UWriter.write(items))
        #expect(result.warnings.isEmpty)
        #expect(result.entries.map(\.title) == ["One, HD", "Two"])
        #expect(result.entries[0].tvgName == "One 'HD'")
        #expect(result.entries[0].group == "News")
        #expect(result.entries[0].logo == "http://l/1.png")
        #expect(result.entries.map(\.url) == ["http://s/stream/k1", "http://s/stream/k2"])
    }

    @Test func playlistIdsAreStableAndUnique() {
        let entries = [
            M3UEntry(line: 1, title: "BBC One HD", url: "http://p/1?token=a"),
            M3UEntry(line: 3, title: "BBC One HD", url: "http://p/2?token=a"),
            M3UEntry(line: 5, title: "Ärzte TV", url: "http://p/3?token=a"),
            M3UEntry(line: 7, title: "", url: "http://p/4.ts", attributes: ["tvg-name": "Name Only"]),
        ]
        let first = CatalogChannel.fromPlaylist(entries, playlist: "provider")
        #expect(first.map(\.id) == ["provider.bbc-one-hd", "provider.bbc-one-hd-2", "provider.arzte-tv", "provider.name-only"])
        let refreshed = entries.map { entry in
            var copy = entry
            copy.url = entry.url.replacingOccurrences(of: "token=a", with: "token=b")
            return copy
        }
        #expect(CatalogChannel.fromPlaylist(refreshed, playlist: "provider").map(\.id) == first.map(\.id))
        #expect(first.allSatisfy { ChannelID.isValid($0.id) })
    }

    @Test func nonLatinNamesGetIdsFromTheNameNotTheOrder() {
        let names = ["日本テレビ", "ＴＢＳテレビ", "フジテレビ", "Первый канал", "BBC One"]
        let entries = names.enumerated().map { M3UEntry(line: $0.offset * 2 + 1, title: $0.element, url: "http://p/\($0.offset)") }
        let ids = CatalogChannel.fromPlaylist(entries, playlist: "q").map(\.id)
        let swapped = CatalogChannel.fromPlaylist(entries.reversed(), playlist: "q")
        #expect(Set(ids).count == names.count, "\(ids)")
        #expect(ids.allSatisfy { ChannelID.isValid($0) }, "\(ids)")
        for channel in swapped {
            #expect(ids[names.firstIndex(of: channel.name) ?? 0] == channel.id, "\(channel.name) moved to \(channel.id)")
        }
        // Full-width Latin letters read as Latin; the other letters are in the hash.
        #expect(ids[1].hasPrefix("q.tbs-"))
        #expect(ids[4] == "q.bbc-one")
        #expect(ChannelID.stableHash("日本テレビ") == ChannelID.stableHash("日本テレビ") && ChannelID.stableHash("a") != ChannelID.stableHash("b"))
    }

    @Test func repeatedNamesAreToldApartByTheirDetailsBeforeTheirOrder() {
        let sports = M3UEntry(line: 1, title: "News", url: "http://p/1", attributes: ["group-title": "Sports"])
        let world = M3UEntry(line: 3, title: "News", url: "http://p/2", attributes: ["group-title": "World"])
        let first = CatalogChannel.fromPlaylist([sports, world], playlist: "p")
        #expect(first[0].id == "p.news" && first[1].id.hasPrefix("p.news-") && first[1].id != "p.news-2")
    }

    @Test func idsStayWithinTheLimitForLongNames() {
        let entry = M3UEntry(line: 1, title: String(repeating: "Très long nom 日本 ", count: 20), url: "http://p/1")
        let id = CatalogChannel.fromPlaylist([entry, entry, entry], playlist: String(repeating: "provider", count: 10)).map(\.id)
        #expect(id.allSatisfy { ChannelID.isValid($0) && $0.utf8.count <= ChannelID.maxLength }, "\(id)")
        #expect(Set(id).count == 3)
    }

    @Test func streamKeysAreLongRandomAndURLSafe() {
        let keys = (0..<1000).map { _ in StreamKey.generate() }
        #expect(Set(keys).count == keys.count)
        #expect(keys.allSatisfy { StreamKey.isWellFormed($0[...]) && $0.count == 32 })
    }
}

@Suite struct M3UOptionsTests {
    @Test func headersGuideURLsAndChannelNumbersAreKept() throws {
        let text = """
        #EXTM3U url-tvg="http://guide.example/a.xml.gz,http://guide.example/b.xml" x-tvg-url="http://guide.example/a.xml.gz"
        #EXTINF:-1 tvg-id="one" tvg-chno="7",One
        #EXTVLCOPT:http-referrer=http://provider.example/
        #EXTVLCOPT:http-user-agent=VLC/3.0.20
        http://cdn.example/one.ts
        #EXTINF:-1 tvg-chno="1e9",Two
        #KODIPROP:inputstream.adaptive.stream_headers=User-Agent=Kodi%2F21&X-Token=abc&Bad Name=x
        http://cdn.example/two.ts
        #EXTINF:-1 tvg-chno="12",Three
        http://cdn.example/three.ts|Referer=http%3A%2F%2Fr.example%2F&Origin=http://o.example
        """
        let result = try M3UParser(source: "p.m3u").parse(Array(text.utf8))
        #expect(result.guideURLs == ["http://guide.example/a.xml.gz", "http://guide.example/b.xml"])
        #expect(result.entries.map(\.url) == ["http://cdn.example/one.ts", "http://cdn.example/two.ts", "http://cdn.example/three.ts"])
        #expect(result.entries[0].headers == ["Referer": "http://provider.example/"] && result.entries[0].userAgent == "VLC/3.0.20")
        #expect(result.entries[1].headers == ["X-Token": "abc"] && result.entries[1].userAgent == "Kodi/21")
        #expect(result.entries[2].headers == ["Referer": "http://r.example/", "Origin": "http://o.example"])
        #expect(result.entries.map(\.channelNumber) == [7, nil, 12])
        #expect(result.warnings.map(\.description) == [#"p.m3u:7: #KODIPROP header "Bad Name=x" is not a valid header; ignored"#])
        let channels = CatalogChannel.fromPlaylist(result.entries, playlist: "p")
        #expect(channels[0].headers["Referer"] == "http://provider.example/" && channels[0].number == 7)
        // The served playlist carries the number.
        let served = M3UWriter.write([M3UWriter.Item(title: "One", url: "http://s/stream/k", number: 7)])
        #expect(served.contains(#"tvg-chno="7""#))
    }
}
