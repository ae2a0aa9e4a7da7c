import Foundation

/// The two text formats a scrape can ask for.
public enum ExpositionFormat: Sendable {
    /// Prometheus text format 0.0.4, the default.
    case prometheus
    /// OpenMetrics 1.0 text, when the scrape's `Accept` asks for it.
    case openMetrics

    public var contentType: String {
        switch self {
        case .prometheus: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// OpenMetrics when `Accept` names it (as Prometheus's scrapes do), else the 0.0.4 text.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheus }
        for part in accept.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.first == "application/openmetrics-text" else { continue }
            // A zero quality means "not acceptable".
            if fields.dropFirst().contains(where: { $0.replacingOccurrences(of: " ", with: "") == "q=0" || $0 == "q=0.0" }) { continue }
            return .openMetrics
        }
        return .prometheus
    }
}
