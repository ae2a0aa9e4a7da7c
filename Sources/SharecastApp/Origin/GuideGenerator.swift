import Foundation
import SharecastGuide

/// A made-up XMLTV guide for the stand-in panel, tests and benchmarks: for each channel, a
/// programme every `slotMinutes` from the start of yesterday (UTC) for `days` days, with a
/// sub-title, a description, a category and an episode number, so every kept field is there.
public struct GuideGenerator: Sendable {
    public struct Channel: Sendable {
        public var id: String
        public var name: String

        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    public var channels: [Channel]
    public var days = 8
    public var slotMinutes = 30
    /// Extra description text per programme (benchmarks make gigabyte guides with it).
    public var descriptionPadding = 0
    public var now: Int64

    public init(channels: [Channel], now: Int64 = Int64(Date().timeIntervalSince1970)) {
        self.channels = channels
        self.now = now
    }

    /// Where the schedule starts: midnight UTC yesterday.
    public var firstStart: Int64 { (now / 86_400 - 1) * 86_400 }

    public var programmesPerChannel: Int { days * 24 * 60 / slotMinutes }

    /// The guide, in pieces of about `chunkBytes`, handed to `sink` as they are made.
    public func write(chunkBytes: Int = 1 << 20, _ sink: (String) -> Void) {
        var text = XMLTVWriter.header(generator: "Sharecast stand-in")
        for channel in channels {
            text += XMLTVWriter.channel(id: channel.id, displayNames: [channel.name], icon: nil)
        }
        let padding = String(repeating: "x", count: descriptionPadding)
        let slot = Int64(slotMinutes * 60)
        for (index, channel) in channels.enumerated() {
            for number in 0..<programmesPerChannel {
                let start = firstStart + Int64(number) * slot
                var programme = GuideProgramme(channel: channel.id, start: start, stop: start + slot, titles: [LocalizedText("\(channel.name) show \(number)", lang: "en")])
                programme.subTitles = [LocalizedText("Part \(number % 7 + 1)")]
                programme.descriptions = [LocalizedText("Programme \(number) of channel \(index + 1). \(padding)", lang: "en")]
                programme.categories = [LocalizedText(number % 2 == 0 ? "News" : "Series", lang: "en")]
                programme.episodeNumbers = [LocalizedText("\(number / 10).\(number % 10).", lang: "xmltv_ns")]
                text += XMLTVWriter.programme(channel: channel.id, start: start, stop: start + slot, body: XMLTVWriter.body(programme))
                if text.utf8.count >= chunkBytes {
                    sink(text)
                    text = ""
                }
            }
        }
        sink(text + XMLTVWriter.footer)
    }

    public var document: String {
        var result = ""
        write { result += $0 }
        return result
    }
}
