import Foundation
import SharecastHTTP
import Testing

@Suite struct HTTPDateTests {
    @Test func datesAreIMFFixdate() {
        #expect(HTTPDate.string(Date(timeIntervalSince1970: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.string(Date(timeIntervalSince1970: 1_767_225_600)) == "Thu, 01 Jan 2026 00:00:00 GMT")
        #expect(HTTPDate.string(Date(timeIntervalSince1970: 1_796_255_999.9)) == "Wed, 02 Dec 2026 23:59:59 GMT")
        // A date no clock gives is written as the epoch, not a trap.
        #expect(HTTPDate.string(Date(timeIntervalSince1970: .nan)) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }
}
