import CMicroHTTPD
import CShims
import Foundation
import Logging

/// The C entry points MHD calls. They are static members of a non-isolated type (never closures in
/// `main.swift`, which Swift 6 would make main-actor isolated and crash on MHD's threads), and each
/// turns its context pointer back into the Swift object that owns the request.
enum ServerCallbacks {
    static let access: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadSize, requestContext in
        guard let cls, let connection, let url, let method, let uploadSize, let requestContext else { return MHD_Result.NO }
        let server = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
        guard let existing = requestContext.pointee else {
            if server.isStopping.load(ordering: .acquiring) { return MHD_Result.NO }
            let state = RequestState(method: String(cString: method), url: String(cString: url))
            requestContext.pointee = Unmanaged.passRetained(state).toOpaque()
            // Framing that a proxy in front could read differently, and a declared body far over
            // the cap, are answered at once and the connection closed: nothing more of it is read.
            // A client waiting for "100 Continue" is refused before it sends anything.
            state.headers = server.fields(of: connection, kind: .HEADER_KIND)
            let verdict = RequestFraming.check(state.headers, maxBodyBytes: server.configuration.maxRequestBodyBytes)
            let expectsContinue = MHD_lookup_connection_value(connection, .HEADER_KIND, "Expect")
                .map { String(cString: $0).lowercased() == "100-continue" } ?? false
            if verdict == .drainThenRefuse, !expectsContinue {
                state.bodyTooLarge = true
                return MHD_Result.YES
            }
            if case let .refuse(status, code, message) = verdict {
                state.responded = true
                state.routeName = "-"
                var response = HTTPResponse.error(status: status, code: code, message: message)
                response.headers.add("Connection", "close")
                return server.finishResponding(state, response: response, connection: connection)
            }
            if verdict == .drainThenRefuse {
                state.responded = true
                var response = HTTPResponse.error(status: 413, code: "body_too_large",
                                                  message: "request body exceeds \(server.configuration.maxRequestBodyBytes) bytes")
                response.headers.add("Connection", "close")
                return server.finishResponding(state, response: response, connection: connection)
            }
            return MHD_Result.YES
        }
        let state = Unmanaged<RequestState>.fromOpaque(existing).takeUnretainedValue()
        if uploadSize.pointee > 0 {
            let count = uploadSize.pointee
            state.received &+= count
            // A body without a declared length that keeps coming past the drain limit: the
            // connection is closed now (libmicrohttpd would read all of it before sending an answer).
            let (drain, overflow) = server.configuration.maxRequestBodyBytes.multipliedReportingOverflow(by: RequestFraming.drainFactor)
            if overflow || state.received > drain {
                uploadSize.pointee = 0
                return MHD_Result.NO
            }
            if !state.bodyTooLarge, let uploadData {
                if state.body.count + count > server.configuration.maxRequestBodyBytes {
                    state.bodyTooLarge = true
                    state.body = []
                } else {
                    uploadData.withMemoryRebound(to: UInt8.self, capacity: count) { state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
                }
            }
            uploadSize.pointee = 0
            return MHD_Result.YES
        }
        // Resumed after a pending response was resolved: queue it now.
        if let pending = state.pending {
            guard let response = pending.take() else { return MHD_Result.YES }
            state.pending = nil
            server.pendings.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(pending)) }
            if state.takenOver { return MHD_Result.NO }
            return server.finishResponding(state, response: response, connection: connection)
        }
        guard !state.responded else { return MHD_Result.YES }
        state.responded = true
        return server.respond(to: state, connection: connection)
    }

    static let completed: MHD_RequestCompletedCallback = { cls, _, requestContext, termination in
        guard let cls, let requestContext, let pointer = requestContext.pointee else { return }
        requestContext.pointee = nil
        let server = Unmanaged<ServerContext>.fromOpaque(cls).takeUnretainedValue()
        let state = Unmanaged<RequestState>.fromOpaque(pointer).takeRetainedValue()
        let elapsed = ContinuousClock.now - state.started
        server.logger.debug("request", metadata: [
            "method": "\(state.method)", "path": "\(state.url)", "route": "\(state.routeName)",
            "status": "\(state.status)", "duration_ms": "\(elapsed.milliseconds)",
            "termination": "\(termination.rawValue)",
        ])
    }

    static let streamRead: MHD_ContentReaderCallback = { cls, _, buffer, max in
        guard let cls, let buffer else { return -1 }
        let stream = Unmanaged<StreamConnection>.fromOpaque(cls).takeUnretainedValue()
        return stream.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: max))
    }

    static let streamFree: MHD_ContentReaderFreeCallback = { cls in
        guard let cls else { return }
        let stream = Unmanaged<StreamConnection>.fromOpaque(cls).takeRetainedValue()
        stream.server.streams.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(stream)) }
        stream.closed()
    }

    static let collectField: MHD_KeyValueIterator = { cls, _, key, value in
        guard let cls, let key else { return MHD_Result.YES }
        let fields = Unmanaged<FieldCollector>.fromOpaque(cls).takeUnretainedValue()
        fields.items.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
        return MHD_Result.YES
    }
}

/// Gathers header or query fields from `MHD_get_connection_values`.
final class FieldCollector {
    var items: [(name: String, value: String)] = []
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension ServerContext {
    func respond(to state: RequestState, connection: OpaquePointer) -> MHD_Result {
        let response: HTTPResponse
        if state.bodyTooLarge {
            response = .error(status: 413, code: "body_too_large", message: "request body exceeds \(configuration.maxRequestBodyBytes) bytes")
        } else {
            var request = HTTPRequest(method: state.method, path: state.url)
            request.headers = HTTPHeaders(state.headers)
            // A stream's state lives as long as its connection: the request has them now.
            state.headers = []
            for (name, value) in fields(of: connection, kind: .GET_ARGUMENT_KIND) {
                if request.query[name] == nil {
                    request.query[name] = value
                } else if !request.repeatedQueryNames.contains(name) {
                    request.repeatedQueryNames.append(name)
                }
            }
            request.body = state.body
            request.remoteAddress = clientAddress(connection)
            switch router.resolve(method: state.method, path: state.url) {
            case let .matched(match):
                state.routeName = match.name
                request.parameters = match.parameters
                response = match.handler(request)
            case let .methodNotAllowed(allowed):
                response = .error(status: 405, code: "method_not_allowed", message: "\(state.method) is not allowed here",
                                  headers: [("Allow", allowed.joined(separator: ", "))])
            case .notFound:
                response = .notFound()
            }
        }
        if case let .pending(pending) = response.body {
            // Parked inside the access handler: MHD calls it again after the resume.
            state.pending = pending
            pendings.withLock { $0[ObjectIdentifier(pending)] = pending }
            MHD_suspend_connection(connection)
            // MHD allows resuming from any thread (MHD_ALLOW_SUSPEND_RESUME), and a suspended
            // connection is not freed before it is resumed, so the pointer stays valid.
            nonisolated(unsafe) let suspended = connection
            let handle = SuspendedConnection(socket: shim_mhd_connection_fd(connection), pending: pending)
            pending.suspended(handle)
            pending.whenResolved {
                handle.invalidate()
                MHD_resume_connection(suspended)
            }
            return MHD_Result.YES
        }
        return finishResponding(state, response: response, connection: connection)
    }

    /// Hands the connection's socket (a duplicate) to `DirectDelivery`, which sends the body
    /// itself; MHD keeps the connection suspended until the stream is over, then closes it.
    ///
    /// The head goes out first, from this thread, before any bookkeeping: a viewer's first byte
    /// waits neither for the delivery thread to wake nor for the metrics (what the socket did not
    /// take of it, the delivery thread sends).
    func takeOver(_ state: RequestState, response: HTTPResponse, body: any StreamingBody, connection: OpaquePointer,
                  delivery: DirectDelivery) -> MHD_Result {
        let socket = shim_dup_cloexec(shim_mhd_connection_fd(connection))
        guard socket >= 0 else {
            logger.warning("a stream could not take its socket over; answered through libmicrohttpd", metadata: ["errno": "\(errno)"])
            return finishResponding(state, response: response, connection: connection, takeOver: false)
        }
        let head = ResponseHead.bytes(response, date: dates.text())
        let headSent = head.withUnsafeBytes { raw in send(socket, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        state.takenOver = true
        let pending = PendingResponse()
        state.pending = pending
        pendings.withLock { $0[ObjectIdentifier(pending)] = pending }
        MHD_suspend_connection(connection)
        nonisolated(unsafe) let suspended = connection
        pending.whenResolved { MHD_resume_connection(suspended) }
        let stream = DirectStream(socket: socket, head: head, body: body, delivery: delivery,
                                  release: { pending.resolve(HTTPResponse()) })
        if headSent > 0 { stream.headSent = headSent }
        delivery.adopt(stream)
        observe(state, status: response.status)
        return MHD_Result.YES
    }

    func finishResponding(_ state: RequestState, response: HTTPResponse, connection: OpaquePointer, takeOver allowed: Bool = true) -> MHD_Result {
        if allowed, case let .stream(body) = response.body, state.method == "GET", let delivery {
            return takeOver(state, response: response, body: body, connection: connection, delivery: delivery)
        }
        let queued = queue(response, on: connection)
        observe(state, status: response.status)
        return queued
    }

    /// Records the answer's status and tells the observer (the request metrics) how long it took.
    func observe(_ state: RequestState, status: Int) {
        state.status = status
        guard let observer = configuration.observer else { return }
        let elapsed = ContinuousClock.now - state.started
        observer(state.routeName, status, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    func queue(_ response: HTTPResponse, on connection: OpaquePointer) -> MHD_Result {
        let handle: OpaquePointer?
        switch response.body {
        case let .bytes(bytes):
            handle = bytes.withUnsafeBytes { raw in
                MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY)
            }
        case let .memory(memory):
            let count = memory.count
            guard let raw = memory.take() else { return MHD_Result.NO }
            handle = MHD_create_response_from_buffer(count, raw, .RESPMEM_MUST_FREE)
            if handle == nil { free(raw) }
        case let .file(file):
            let size = file.size
            let descriptor = file.take()
            guard descriptor >= 0 else { return MHD_Result.NO }
            // MHD closes the descriptor when it destroys the response; on failure it is ours.
            handle = MHD_create_response_from_fd64(size, descriptor)
            if handle == nil { close(descriptor) }
        case .pending:
            // Resolved responses are queued through `finishResponding`; a pending one never is.
            return MHD_Result.NO
        case let .stream(body):
            // A viewer may pause reading for up to client_timeout; idle API connections may not.
            _ = shim_mhd_set_connection_timeout(connection, UInt32(clamping: configuration.streamTimeout))
            let stream = StreamConnection(body: body, connection: connection, server: self)
            streams.withLock { $0[ObjectIdentifier(stream)] = stream }
            body.opened(stream)
            // Retained here, released by `streamFree` when MHD destroys the response.
            handle = MHD_create_response_from_callback(
                UInt64.max, configuration.streamBlockSize, ServerCallbacks.streamRead,
                Unmanaged.passRetained(stream).toOpaque(), ServerCallbacks.streamFree
            )
        }
        guard let handle else { return MHD_Result.NO }
        defer { MHD_destroy_response(handle) }
        for (name, value) in response.headers where MHD_add_response_header(handle, name, value) != MHD_Result.YES {
            logger.warning("response header refused", metadata: ["header": "\(name)"])
        }
        return MHD_queue_response(connection, UInt32(response.status), handle)
    }

    func fields(of connection: OpaquePointer, kind: MHD_ValueKind) -> [(name: String, value: String)] {
        let collector = FieldCollector()
        _ = MHD_get_connection_values(connection, kind, ServerCallbacks.collectField, Unmanaged.passUnretained(collector).toOpaque())
        return collector.items
    }
}
