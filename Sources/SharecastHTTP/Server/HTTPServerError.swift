/// Why the HTTP server could not start.
public enum HTTPServerError: Error, CustomStringConvertible, Equatable {
    case badListenAddress(String)
    case cannotListen(address: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case let .badListenAddress(address): "cannot listen on \(address): not an IPv4 or IPv6 address"
        case let .cannotListen(address, port, reason): "cannot listen on \(address) port \(port): \(reason)"
        }
    }
}
