import CCurl
import CShims

/// The one owner of a `CURLM *` multi handle.
final class CurlMulti {
    let handle: UnsafeMutableRawPointer

    init?() {
        guard CurlGlobal.initialized, let handle = curl_multi_init() else { return nil }
        self.handle = handle
    }

    deinit {
        curl_multi_cleanup(handle)
    }
}
