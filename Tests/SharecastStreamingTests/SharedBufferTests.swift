import Glibc
import SharecastHTTP
import SharecastTS
import Synchronization
import Testing
@testable import SharecastStreaming

final class CountingWaker: ResponseWaker {
    let wakes = Atomic<Int>(0)
    func wake() { wakes.add(1, ordering: .relaxed) }
}

@Suite struct SharedBufferTests {
    static func packets(_ count: Int, startingAt first: Int = 0) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count * 188)
        for index in 0..<count {
            bytes[index * 188] = 0x47
            // Number each packet so readers can check order.
            bytes[index * 188 + 4] = UInt8(truncatingIfNeeded: (first + index) >> 8)
            bytes[index * 188 + 5] = UInt8(truncatingIfNeeded: first + index)
        }
        return bytes
    }

    @Test func readersGetContiguousWholePacketsAcrossTheWrap() throws {
        let buffer = try #require(SharedBuffer(capacity: 188 * 100, wakeThreshold: 1))
        let waker = CountingWaker()
        var cursor = buffer.joinPosition()
        var received: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 1000)   // not a multiple of 188
        for round in 0..<10 {
            Self.packets(37, startingAt: round * 37).withUnsafeBytes { buffer.write($0) }
            while true {
                let result = scratch.withUnsafeMutableBytes { buffer.read(from: &cursor, into: $0, waker: waker) }
                guard case let .bytes(count) = result else {
                    #expect(result == .caughtUp)
                    break
                }
                #expect(count % 188 == 0)
                received += scratch[0..<count]
            }
        }
        let same = received == Self.packets(370)
        #expect(same, "received \(received.count) bytes, not the 370 packets written, in order")
        #expect(waker.wakes.load(ordering: .relaxed) == 9)   // woken by each write after the first wait
    }

    @Test func aReaderAWholeRingBehindIsLapped() throws {
        let buffer = try #require(SharedBuffer(capacity: 188 * 20))
        var cursor: Int64 = 0
        Self.packets(21).withUnsafeBytes { buffer.write($0) }
        var scratch = [UInt8](repeating: 0, count: 188)
        #expect(scratch.withUnsafeMutableBytes { buffer.read(from: &cursor, into: $0, waker: CountingWaker()) } == .lapped)
    }

    @Test func newViewersStartAtTheNewestSafeJoinPoint() throws {
        let buffer = try #require(SharedBuffer(capacity: 188 * 100))
        #expect(buffer.joinPosition() == 0)
        Self.packets(10).withUnsafeBytes { buffer.write($0, joinPosition: 188 * 3) }
        Self.packets(10).withUnsafeBytes { buffer.write($0, joinPosition: 188 * 12) }
        #expect(buffer.joinPosition() == 188 * 12)
        // Once the ring moves on, a join point near its old end is not used (it would be lapped soon).
        Self.packets(85).withUnsafeBytes { buffer.write($0) }
        #expect(buffer.joinPosition() == buffer.writePosition)
    }

    @Test func aBacklogStartsNewViewersAtAKeyframeThatFarBack() throws {
        let buffer = try #require(SharedBuffer(capacity: 188 * 100))
        for join in [2, 12, 22, 32] {
            Self.packets(10).withUnsafeBytes { buffer.write($0, joinPosition: Int64(188 * join)) }
        }
        // 40 packets written, keyframes at 2, 12, 22 and 32.
        #expect(buffer.joinPosition(backlog: 0) == 188 * 32)
        #expect(buffer.joinPosition(backlog: 188 * 15) == 188 * 22)
        #expect(buffer.joinPosition(backlog: 188 * 28) == 188 * 12)
        // Further back than any keyframe: the oldest one still safe in the ring.
        #expect(buffer.joinPosition(backlog: 188 * 1000) == 188 * 2)
    }

    @Test func endedBuffersDrainThenEnd() throws {
        let buffer = try #require(SharedBuffer(capacity: 188 * 10))
        var cursor: Int64 = 0
        Self.packets(2).withUnsafeBytes { buffer.write($0) }
        buffer.end()
        var scratch = [UInt8](repeating: 0, count: 4096)
        #expect(scratch.withUnsafeMutableBytes { buffer.read(from: &cursor, into: $0, waker: CountingWaker()) } == .bytes(376))
        #expect(scratch.withUnsafeMutableBytes { buffer.read(from: &cursor, into: $0, waker: CountingWaker()) } == .ended)
    }

    @Test func fileBackedRingsLiveUnderTheBufferPathAndGoWithTheSession() throws {
        let directory = "/tmp/sharecast-ring-test-\(UInt32.random(in: 0...UInt32.max))"
        var buffer = SharedBuffer(capacity: 188 * 64, directory: directory, name: "chan")
        let path = try #require(buffer?.filePath)
        #expect(path.hasPrefix(directory + "/sharecast-ring-"))
        #expect(access(path, F_OK) == 0)
        buffer = nil
        #expect(access(path, F_OK) != 0)
        rmdir(directory)
    }
}
