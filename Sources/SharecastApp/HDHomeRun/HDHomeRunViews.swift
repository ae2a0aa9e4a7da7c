import Foundation

/// The documents of SiliconDust's HTTP API (info.hdhomerun.com/info/http_api), with its field
/// names. `TunerCount` is a JSON integer (Plex refuses "2"), `GuideNumber` a string.
enum HDHomeRunViews {
    struct Discover: Encodable {
        var FriendlyName: String
        var Manufacturer: String
        var ModelNumber: String
        var FirmwareName: String
        var FirmwareVersion: String
        var DeviceID: String
        var DeviceAuth: String
        var BaseURL: String
        var LineupURL: String
        var TunerCount: Int
    }

    struct LineupEntry: Encodable {
        var GuideNumber: String
        var GuideName: String
        var URL: String
        /// 1 for HD channels (Jellyfin's IsHD); numbers, as real tuners send.
        var HD: Int
        var VideoCodec: String?
        var AudioCodec: String?
    }

    struct LineupStatus: Encodable {
        var ScanInProgress = 0
        var ScanPossible = 1
        var Source = "Cable"
        var SourceList = ["Cable"]
    }

    /// Channel names that say they are HD.
    static func isHD(_ name: String) -> Bool {
        let words = name.uppercased().split { !$0.isLetter && !$0.isNumber }
        return words.contains { ["HD", "FHD", "UHD", "4K", "1080P", "720P"].contains($0) }
    }

    /// The UPnP device description (`/device.xml`) Plex and SSDP clients read.
    static func deviceXML(baseURL: String, friendlyName: String, modelNumber: String, deviceID: String, udn: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <root xmlns="urn:schemas-upnp-org:device-1-0">
          <specVersion><major>1</major><minor>0</minor></specVersion>
          <URLBase>\(escaped(baseURL))</URLBase>
          <device>
            <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>
            <friendlyName>\(escaped(friendlyName))</friendlyName>
            <manufacturer>Sharecast</manufacturer>
            <modelName>\(escaped(modelNumber))</modelName>
            <modelNumber>\(escaped(modelNumber))</modelNumber>
            <serialNumber>\(escaped(deviceID))</serialNumber>
            <UDN>uuid:\(escaped(udn))</UDN>
          </device>
        </root>

        """
    }

    static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }
}
