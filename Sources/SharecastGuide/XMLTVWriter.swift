import SharecastCore

/// XMLTV out: the pieces `/epg.xml` is streamed from. Everything is escaped here; elements come
/// in the DTD's order (xmltv.dtd, `programme`), so `tv_validate_file` accepts the result.
public enum XMLTVWriter {
    public static func header(generator: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE tv SYSTEM "xmltv.dtd">
        <tv generator-info-name="\(escaped(generator))">

        """
    }

    public static let footer = "</tv>\n"

    /// A `<channel>`: its display names (the most canonical first) and icon.
    public static func channel(id: String, displayNames: [String], icon: String?) -> String {
        var text = "  <channel id=\"\(escaped(id))\">"
        for name in displayNames { text += "<display-name>\(escaped(name))</display-name>" }
        if let icon, !icon.isEmpty { text += "<icon src=\"\(escaped(icon))\"/>" }
        return text + "</channel>\n"
    }

    /// The inside of a `<programme>`, stored as it is served.
    public static func body(_ programme: GuideProgramme) -> String {
        var text = ""
        func elements(_ name: String, _ values: [LocalizedText], attribute: String = "lang") {
            for value in values {
                text += "<\(name)"
                if let lang = value.lang, !lang.isEmpty { text += " \(attribute)=\"\(escaped(lang))\"" }
                text += ">\(escaped(value.text))</\(name)>"
            }
        }
        elements("title", programme.titles)
        elements("sub-title", programme.subTitles)
        elements("desc", programme.descriptions)
        if let date = programme.date { text += "<date>\(escaped(date))</date>" }
        elements("category", programme.categories)
        for icon in programme.icons { text += "<icon src=\"\(escaped(icon))\"/>" }
        elements("episode-num", programme.episodeNumbers, attribute: "system")
        if programme.previouslyShown { text += "<previously-shown/>" }
        if programme.isNew { text += "<new/>" }
        for rating in programme.ratings {
            text += rating.lang.map { "<rating system=\"\(escaped($0))\">" } ?? "<rating>"
            text += "<value>\(escaped(rating.text))</value></rating>"
        }
        return text
    }

    /// A whole `<programme>` from its stored parts.
    public static func programme(channel: String, start: Int64, stop: Int64?, body: String) -> String {
        var text = "  <programme start=\"\(XMLTVTime.format(start))\""
        if let stop { text += " stop=\"\(XMLTVTime.format(stop))\"" }
        return text + " channel=\"\(escaped(channel))\">\(body)</programme>\n"
    }

    /// Text for element content and attribute values. Characters XML 1.0 cannot hold (control
    /// characters other than tab and newline) are dropped.
    public static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "\t", "\n": result.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: continue
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
