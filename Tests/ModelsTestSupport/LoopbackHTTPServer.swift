import Foundation
import Glibc

/// A minimal HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for download tests: serves byte strings by
/// path, honours `Range: bytes=N-`, and can cut a transfer midway, stall, ignore ranges or answer 404.
/// Every connection is closed after one response; no address outside loopback is ever used.
public final class LoopbackHTTPServer: @unchecked Sendable {
    public enum Behaviour {
        /// 200, or 206 for a Range request.
        case serve(Data)
        /// The first request gets the headers for the whole body but only `after` bytes, then the
        /// connection closes; later requests are served normally (with Range).
        case cutOnce(Data, after: Int)
        /// Every request is cut after `after` bytes of its body.
        case cutAlways(Data, after: Int)
        /// Headers and `after` bytes, then silence (until the client gives up or the server stops).
        case stall(Data, after: Int)
        /// Always 200 with the whole body, whatever the Range header says.
        case ignoreRange(Data)
        /// 200 with no Content-Length: the body ends when the connection closes.
        case serveUnsized(Data)
    }

    public struct Request: Equatable {
        public var path: String
        public var range: String?

        public init(path: String, range: String?) {
            self.path = path
            self.range = range
        }
    }

    public let port: UInt16
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let listener: Int32
    private let lock = NSLock()
    private var routes: [String: Behaviour] = [:]
    private var log: [Request] = []
    private var cut: Set<String> = []
    private var stopped = false

    public init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    public func route(_ path: String, _ behaviour: Behaviour) {
        lock.withLock { routes[path] = behaviour }
    }

    /// Requests received so far, in order.
    public var requests: [Request] { lock.withLock { log } }

    public func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        if first {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        while !isStopped {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            let thread = Thread { [self] in
                handle(connection)
                close(connection)
            }
            thread.start()
        }
    }

    private func handle(_ fd: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.range(of: Data("\r\n\r\n".utf8)) == nil {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return }
            received.append(contentsOf: buffer[0..<count])
            if received.count > 65536 { return }
        }
        let head = String(decoding: received, as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return }
        let path = String(parts[1])
        var range: String?
        for line in lines.dropFirst() {
            let pieces = line.split(separator: ":", maxSplits: 1)
            if pieces.count == 2, pieces[0].lowercased() == "range" {
                range = pieces[1].trimmingCharacters(in: .whitespaces)
            }
        }
        let behaviour: Behaviour? = lock.withLock {
            log.append(Request(path: path, range: range))
            return routes[path]
        }
        guard let behaviour else {
            send(fd, status: "404 Not Found", headers: [:], body: Data("not found\n".utf8))
            return
        }
        switch behaviour {
        case .serve(let body):
            serve(fd, body, range: range, limit: nil)
        case .cutOnce(let body, let after):
            let first = lock.withLock { cut.insert(path).inserted }
            serve(fd, body, range: range, limit: first ? after : nil)
        case .cutAlways(let body, let after):
            serve(fd, body, range: range, limit: after)
        case .stall(let body, let after):
            send(fd, status: "200 OK", headers: ["Content-Length": "\(body.count)"], body: body.prefix(after))
            // Hold the connection open, silent, for at most 10 s or until the server stops.
            let deadline = Date().addingTimeInterval(10)
            while !isStopped && Date() < deadline {
                var probe: UInt8 = 0
                // A closed client shows up as a zero-length read.
                let peeked = recv(fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
                if peeked == 0 { return }
                usleep(20_000)
            }
        case .ignoreRange(let body):
            serve(fd, body, range: nil, limit: nil)
        case .serveUnsized(let body):
            send(fd, status: "200 OK", headers: ["Content-Length": ""], body: body)
        }
    }

    /// Sends `body` (or the requested suffix of it); `limit` cuts the body after that many bytes.
    private func serve(_ fd: Int32, _ body: Data, range: String?, limit: Int?) {
        var start = 0
        var status = "200 OK"
        var headers: [String: String] = ["Accept-Ranges": "bytes"]
        if let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let first = Int(range.dropFirst(6).dropLast()) {
            if first >= body.count {
                send(fd, status: "416 Range Not Satisfiable", headers: ["Content-Range": "bytes */\(body.count)"], body: Data())
                return
            }
            start = first
            status = "206 Partial Content"
            headers["Content-Range"] = "bytes \(first)-\(body.count - 1)/\(body.count)"
        }
        let slice = body.subdata(in: start..<body.count)
        headers["Content-Length"] = "\(slice.count)"
        send(fd, status: status, headers: headers, body: limit.map { slice.prefix($0) } ?? slice)
    }

    private func send(_ fd: Int32, status: String, headers: [String: String], body: Data) {
        var text = "HTTP/1.1 \(status)\r\nConnection: close\r\n"
        if headers["Content-Length"] == nil { text += "Content-Length: \(body.count)\r\n" }
        // An empty value leaves the header out (an unsized body).
        for (key, value) in headers.sorted(by: { $0.key < $1.key }) where !value.isEmpty { text += "\(key): \(value)\r\n" }
        text += "\r\n"
        var payload = Data(text.utf8)
        payload.append(body)
        payload.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                // MSG_NOSIGNAL: a client that hung up must not kill the test process with SIGPIPE.
                let sent = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if sent <= 0 { return }
                offset += sent
            }
        }
    }
}
