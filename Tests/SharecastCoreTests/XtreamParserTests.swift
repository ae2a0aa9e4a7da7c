import Foundation
import Testing
@testable import SharecastCore

@Suite struct XtreamParserTests {
    @Test func accountInfoInEveryShapePanelsWriteIt() throws {
        let active = try XtreamParser.accountInfo(Array(#"{"user_info":{"auth":1,"status":"Active","exp_date":"4102444800","max_connections":"2","active_cons":1,"is_trial":"0"}}"#.utf8))
        #expect(active.status == .active && active.maxConnections == 2 && active.activeConnections == 1 && !active.isTrial)
        #expect(active.expiresAt == Date(timeIntervalSince1970: 4_102_444_800))
        let numbers = try XtreamParser.accountInfo(Array(#"{"user_info":{"auth":true,"status":"Active","exp_date":null,"max_connections":1.0}}"#.utf8))
        #expect(numbers.status == .active && numbers.expiresAt == nil && numbers.maxConnections == 1)
        let past = try XtreamParser.accountInfo(Array(#"{"user_info":{"auth":1,"status":"Active","exp_date":1000000000}}"#.utf8))
        #expect(past.status == .expired)
        let banned = try XtreamParser.accountInfo(Array(#"{"user_info":{"auth":1,"status":"Banned","message":"contact support"}}"#.utf8))
        #expect(banned.status == .banned && banned.statusText == "Banned: contact support")
        #expect(try XtreamParser.accountInfo(Array(#"{"user_info":{"auth":0}}"#.utf8)).status == .refused)
        #expect(try XtreamParser.accountInfo(Array("{}".utf8)).status == .refused)
        // Numbers that would trap a plain conversion are no numbers.
        let hostile = try XtreamParser.accountInfo(Array(#"{"user_info":{"auth":1,"status":"Active","exp_date":1e400,"max_connections":"1e16","active_cons":-3}}"#.utf8))
        #expect(hostile.maxConnections == nil && hostile.activeConnections == nil && hostile.expiresAt == nil)
    }

    @Test func anErrorPageIsAnErrorNamingTheDocument() {
        #expect(throws: XtreamError(document: "get_live_streams", reason: #"not JSON (it starts with "<html><body>403 Forbidden</body></html>"); an error page?"#)) {
            try XtreamParser.streams(Array("<html><body>403 Forbidden</body></html>".utf8))
        }
        #expect(throws: XtreamError.self) { try XtreamParser.streams(Array(#"{"user_info":{"auth":0}}"#.utf8)) }
        #expect(throws: XtreamError.self) { try XtreamParser.streams(Array(#"[{"stream_id":1},"#.utf8)) }
        #expect(throws: XtreamError.self) { try XtreamParser.accountInfo([]) }
    }

    @Test func badStreamsCostOnlyThemselves() throws {
        let json = #"""
        [{"num":1,"name":"CNN","stream_type":"live","stream_id":123,"stream_icon":"http://logo.example/cnn.png","epg_channel_id":"cnn.us","category_id":"1"},
         {"num":"1e16","name":"日本テレビ","stream_id":"124","category_id":"2","stream_icon":"javascript:alert(1)"},
         {"num":null,"name":null,"stream_id":1e400},
         {"stream_id":"nan"},
         [1,2],
         {"name":"again","stream_id":123},
         {"num":2.5,"name":"Film","stream_id":125,"stream_type":"movie"},
         {"name":"","stream_id":126}]
        """#
        let (streams, warnings) = try XtreamParser.streams(Array(json.utf8))
        #expect(streams.map(\.streamID) == [123, 124, 126])
        #expect(streams[0] == XtreamStream(streamID: 123, name: "CNN", number: 1, categoryID: "1", epgChannelID: "cnn.us", icon: "http://logo.example/cnn.png"))
        #expect(streams[1].number == nil && streams[1].icon == nil && streams[1].name == "日本テレビ")
        #expect(streams[2].name == "Stream 126")
        #expect(warnings == [
            "get_live_streams[2]: no usable stream_id (missing)",
            "get_live_streams[3]: no usable stream_id (nan)",
            "get_live_streams[4]: not an object",
            "get_live_streams[5]: stream_id 123 repeated",
        ])
    }

    @Test func streamsBecomeChannelsWithoutTheLogin() throws {
        let (categories, _) = try XtreamParser.categories(Array(#"[{"category_id":"1","category_name":"News"},{"category_id":2,"category_name":"日本"}]"#.utf8))
        let streams = [XtreamStream(streamID: 7, name: "CNN", number: 3, categoryID: "1", epgChannelID: "cnn.us", icon: nil),
                       XtreamStream(streamID: 8, name: "日本テレビ", number: nil, categoryID: "2", epgChannelID: nil, icon: nil)]
        let channels = CatalogChannel.fromPlaylist(XtreamCatalog.entries(streams: streams, categories: categories, server: "http://panel:8080"), playlist: "acme")
        #expect(channels.map(\.group) == ["News", "日本"])
        #expect(channels[0].tvgID == "cnn.us")
        #expect(channels[0].urls == ["http://panel:8080/live/{username}/{password}/7.ts"])
        let account = ProviderAccount(username: "u 1", password: Secret("p/ss"))
        #expect(AccountURL.resolve(channels[0].urls[0], for: account) == "http://panel:8080/live/u%201/p%2Fss/7.ts")
        // The ids come from the names: the same whatever order the panel lists them in.
        let reversed = CatalogChannel.fromPlaylist(XtreamCatalog.entries(streams: streams.reversed(), categories: categories, server: "http://panel:8080"), playlist: "acme")
        #expect(Set(reversed.map(\.id)) == Set(channels.map(\.id)))
    }

    @Test func m3uAccountsRewriteThePlaylistsURL() {
        let account = ProviderAccount(username: "V", password: Secret("w$1"), rewrite: URLRewrite(match: "/U/P/", replace: "/{username}/{password}/"))
        #expect(AccountURL.resolve("http://other.example/U/P/55", for: account) == "http://other.example/V/w%241/55")
        #expect(AccountURL.resolve("http://other.example/X/Y/55", for: account) == nil)
        #expect(AccountURL.resolve("http://other.example/U/P/55", for: ProviderAccount()) == "http://other.example/U/P/55")
    }
}

@Suite struct StreamURLDisplayTests {
    @Test(arguments: [
        ("http://panel:8080/live/u1/s3cret/7.ts", "http://panel:8080/live/***/***/7.ts"),
        ("http://panel:8080/u1/s3cret/7", "http://panel:8080/***/***/7"),
        ("http://panel:8080/u1/s3cret/7.m3u8?token=abc", "http://panel:8080/***/***/7.m3u8?…"),
        ("http://panel:8080/movie/u1/s3cret/9.mkv", "http://panel:8080/movie/***/***/9.mkv"),
        ("http://user:s3cret@host/feed.ts", "http://***@host/feed.ts"),
        ("http://user:s3cret@host", "http://***@host"),
        ("http://host/get.php?username=u&password=s3cret", "http://host/get.php?…"),
        ("http://cdn.example/channels/news/index.m3u8", "http://cdn.example/channels/news/index.m3u8"),
        ("http://127.0.0.1:9/live.ts", "http://127.0.0.1:9/live.ts"),
        ("builtin:testpattern", "builtin:testpattern"),
        ("http://panel/live/{username}/{password}/7.ts", "http://panel/live/***/***/7.ts"),
    ])
    func credentialsAreHidden(_ url: String, _ shown: String) {
        #expect(StreamURLDisplay.redacted(url) == shown)
    }
}
