/// Channel numbers: the HDHomeRun `GuideNumber` and the playlists' `tvg-chno`. Jellyfin keys its
/// channels on `hdhr_<GuideNumber>` and Plex its guide mapping on the number, so a channel keeps
/// the number it was first given: a refresh that renumbers or reorders the provider's list moves
/// nothing, and a removed channel's number is never given to another.
public enum ChannelNumber {
    /// Numbers a provider or the configuration may ask for; larger ones are ignored.
    public static let range = 1...9_999_999

    /// Numbers for `requested` channels (one per element, nil: none asked for), given the numbers
    /// already taken. A free requested number is granted; the others get the next numbers after
    /// the highest taken. Requested numbers go first, so an unnumbered channel early in a list
    /// never takes a number a later channel asks for.
    public static func assign(_ requested: [Int?], taken: inout Set<Int>) -> [Int] {
        var result = [Int](repeating: 0, count: requested.count)
        var pending: [Int] = []
        for (index, wish) in requested.enumerated() {
            if let wish, range.contains(wish), taken.insert(wish).inserted {
                result[index] = wish
            } else {
                pending.append(index)
            }
        }
        var next = (taken.max() ?? 0) + 1
        for index in pending {
            while taken.contains(next) { next += 1 }
            result[index] = next
            taken.insert(next)
            next += 1
        }
        return result
    }
}
