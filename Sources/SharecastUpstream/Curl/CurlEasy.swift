import CCurl
import CShims

/// libcurl's process-wide initialisation, done once before the first handle (it is not thread-safe
/// to call concurrently, and a `static let` initialiser runs exactly once).
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
}

/// The one owner of a `CURL *` easy handle and the header list attached to it.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// libcurl writes its detailed error message here (CURLOPT_ERRORBUFFER).
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init?() {
        guard CurlGlobal.initialized, let handle = curl_easy_init() else { return nil }
        self.handle = handle
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        _ = shim_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        // Signals and threads do not mix: timeouts must not use SIGALRM.
        set(CURLOPT_NOSIGNAL, 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    @discardableResult
    func set(_ option: CURLoption, _ value: Int) -> CURLcode {
        shim_curl_setopt_long(handle, option, value)
    }

    @discardableResult
    func set(_ option: CURLoption, _ value: String) -> CURLcode {
        // libcurl copies string options (since 7.17), so the temporary C string may go away.
        shim_curl_setopt_string(handle, option, value)
    }

    /// Replaces the request's extra headers.
    func setHeaders(_ headers: [(String, String)]) {
        curl_slist_free_all(headerList)
        headerList = nil
        for (name, value) in headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        _ = shim_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
    }

    var responseCode: Int {
        var code = 0
        _ = shim_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// The value of response header `name` of the last response (after redirects), or nil.
    /// Values longer than 1 KiB or holding control characters are dropped: they come from the
    /// server and may be sent back in a later request's headers.
    func responseHeader(_ name: String) -> String? {
        var header: UnsafeMutablePointer<curl_header>?
        guard curl_easy_header(handle, name, 0, UInt32(CURLH_HEADER), -1, &header) == CURLHE_OK,
              let value = header?.pointee.value else { return nil }
        let text = String(cString: value)
        guard text.utf8.count <= 1024, !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        return text
    }

    /// libcurl's message for `code`, with the detail from the error buffer when there is one.
    func message(for code: CURLcode) -> String {
        let detail = String(cString: errorBuffer)
        let summary = String(cString: curl_easy_strerror(code))
        return detail.isEmpty ? summary : detail
    }
}
