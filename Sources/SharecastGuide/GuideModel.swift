/// Text with its language (`lang="en"`), as XMLTV gives titles, descriptions and categories.
public struct LocalizedText: Sendable, Equatable, Codable {
    public var text: String
    public var lang: String?

    public init(_ text: String, lang: String? = nil) {
        self.text = text
        self.lang = lang
    }
}

/// A `<channel>` of a guide.
public struct GuideChannel: Sendable, Equatable {
    public var id: String
    public var displayNames: [String]
    public var icon: String?

    public init(id: String, displayNames: [String], icon: String? = nil) {
        self.id = id
        self.displayNames = displayNames
        self.icon = icon
    }
}

/// A `<programme>` of a guide, with the parts Sharecast keeps and serves again.
public struct GuideProgramme: Sendable, Equatable {
    /// The guide's channel id (`channel="..."`).
    public var channel: String
    /// Seconds since 1970, UTC.
    public var start: Int64
    public var stop: Int64?
    public var titles: [LocalizedText]
    public var subTitles: [LocalizedText] = []
    public var descriptions: [LocalizedText] = []
    /// `<date>`: the year (or date) the programme was made.
    public var date: String?
    public var categories: [LocalizedText] = []
    public var icons: [String] = []
    /// `<episode-num system="...">`: the system in `lang`.
    public var episodeNumbers: [LocalizedText] = []
    public var previouslyShown = false
    public var isNew = false
    /// `<rating system="..."><value>`: the system in `lang`.
    public var ratings: [LocalizedText] = []

    public init(channel: String, start: Int64, stop: Int64? = nil, titles: [LocalizedText]) {
        self.channel = channel
        self.start = start
        self.stop = stop
        self.titles = titles
    }

    /// The first title, for now/next.
    public var title: String { titles.first?.text ?? "" }
}
