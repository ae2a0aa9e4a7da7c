import Foundation

/// The version Sharecast reports (User-Agent, build info, `--version`).
public enum SharecastVersion {
    public static let current = "0.1.0"
    /// The source revision, when the build knew it (SHARECAST_REVISION at run time, else unknown).
    public static var revision: String {
        ProcessInfo.processInfo.environment["SHARECAST_REVISION"] ?? "unknown"
    }

    /// The Swift compiler the binary was built with.
    public static var swift: String {
        #if compiler(>=6.4)
        "6.4+"
        #elseif compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #else
        "6.x"
        #endif
    }
}
