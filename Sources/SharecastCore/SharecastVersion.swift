/// The version Sharecast reports (User-Agent, build info, `--version`).
public enum SharecastVersion {
    public static let current = "0.1.0"
}
