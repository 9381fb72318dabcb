import Dispatch
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How far a download has got, for progress display.
package struct DownloadProgress: Sendable {
    /// Bytes in the partial file now (including bytes from an earlier, resumed attempt).
    package var bytes: Int64
    /// Total size announced by the server, when it said.
    package var total: Int64?
    /// Bytes this attempt started from (non-zero when resuming).
    var resumedFrom: Int64
    /// Average rate of this attempt, bytes per second.
    package var bytesPerSecond: Double
    /// True for the last report of a successful transfer.
    package var finished: Bool
}

/// Downloads one URL into a `.partial` file with Foundation's URLSession, resuming an existing partial file
/// with an HTTP Range request, failing a transfer that stalls, and retrying interrupted transfers.
///
/// The caller verifies and renames the partial file; this type never touches the final name.
struct ModelDownloader: Sendable {
    /// Seconds without a byte before a transfer is abandoned.
    var stallTimeout: Double
    /// Tries per call; each later try resumes what the earlier ones wrote.
    var attempts: Int
    /// The largest file accepted: a server that declares or sends more is refused, and what it sent
    /// is deleted.
    var maximumBytes: Int64
    /// Notes for the user (retries); one line each.
    var log: @Sendable (String) -> Void = { _ in }

    /// Downloads `url` into `partialPath` (appending to what is there) and returns the final size.
    func download(_ url: URL, to partialPath: String, progress: @escaping @Sendable (DownloadProgress) -> Void) throws -> Int64 {
        var attempt = 1
        while true {
            do {
                return try transfer(url, to: partialPath, progress: progress)
            } catch let failure as TransferFailure {
                if failure.discard { unlink(partialPath) }
                guard failure.retriable, attempt < attempts else { throw failure.error }
                attempt += 1
                let have = AtomicFile.fileInfo(partialPath)?.size ?? 0
                log("\(failure.error.message); retrying (attempt \(attempt) of \(attempts), resuming at \(ByteCount.format(have)))")
            }
        }
    }

    /// A failed attempt and whether another attempt may help.
    struct TransferFailure: Error {
        var error: StyleFilterError
        var retriable: Bool
        /// The partial file holds nothing worth resuming (an oversized answer).
        var discard = false
    }

    private func transfer(_ url: URL, to partialPath: String, progress: @escaping @Sendable (DownloadProgress) -> Void) throws -> Int64 {
        let sink = try PartialFile(path: partialPath)
        let resumeFrom = sink.size
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        // Ranges count bytes of the stored file; compression would make them count something else.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        request.setValue("stylefilter-models", forHTTPHeaderField: "User-Agent")
        if resumeFrom > 0 { request.setValue("bytes=\(resumeFrom)-", forHTTPHeaderField: "Range") }

        let configuration = URLSessionConfiguration.ephemeral
        // Stalls (including a host that never answers) are detected below, from the last byte seen; the
        // session's own timeouts are set out of the way so they can never cut a slow but moving transfer.
        configuration.timeoutIntervalForRequest = 7 * 24 * 3600
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let delegate = TransferDelegate(sink: sink, resumeFrom: resumeFrom, url: url, maximumBytes: maximumBytes, progress: progress)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        defer { session.invalidateAndCancel() }
        let task = session.dataTask(with: request)
        task.resume()

        while delegate.finished.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            // Decided already (refused response, or every byte is in): do not wait for the connection to wind down.
            if delegate.isDecided() {
                task.cancel()
                break
            }
            let idle = delegate.secondsSinceLastActivity()
            if idle >= stallTimeout {
                delegate.markStalled()
                task.cancel()
                _ = delegate.finished.wait(timeout: .now() + .seconds(5))
                sink.close()
                let have = sink.sizeNow()
                throw TransferFailure(
                    error: StyleFilterError(
                        .unavailable,
                        "download of \(url.absoluteString) stalled: no data for \(ByteCount.seconds(stallTimeout)) (have \(ByteCount.format(have)); run the same command again to resume)"),
                    retriable: true)
            }
        }
        sink.close()
        return try delegate.result()
    }
}

/// The partial file a transfer appends to (POSIX, so every write is checked and fsync is explicit).
final class PartialFile: @unchecked Sendable {
    let path: String
    private(set) var fd: Int32
    /// Bytes in the file when it was opened.
    let size: Int64

    init(path: String) throws {
        self.path = path
        // Appended to across attempts (resume), but never through a link planted under the name.
        fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StyleFilterError(.cannotCreateOutput, "cannot write '\(path)': \(String(cString: strerror(errno)))") }
        size = Int64(lseek(fd, 0, SEEK_END))
    }

    /// Starts over (the server ignored the Range request).
    func truncate() throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw StyleFilterError(.cannotCreateOutput, "cannot truncate '\(path)': \(String(cString: strerror(errno)))")
        }
    }

    func append(_ data: Data) throws {
        try data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw StyleFilterError(.cannotCreateOutput, "cannot write '\(path)': \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw StyleFilterError(.cannotCreateOutput, "cannot sync '\(path)': \(String(cString: strerror(errno)))") }
    }

    func sizeNow() -> Int64 { AtomicFile.fileInfo(path)?.size ?? 0 }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    deinit { close() }
}

/// URLSession callbacks for one transfer. Callbacks arrive on a serial queue; the waiting thread reads
/// the state under the mutex.
private final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct State {
        var bytes: Int64
        var total: Int64?
        var lastActivity = ContinuousClock.now
        var failure: ModelDownloader.TransferFailure?
        var alreadyComplete = false
        var stalled = false
        var completed = false
        /// Set once the response was accepted; body bytes of refused responses are never written.
        var accepted = false
        /// Every announced byte has arrived.
        var isFull: Bool { accepted && total != nil && bytes == total }
    }

    let sink: PartialFile
    let resumeFrom: Int64
    let url: URL
    let maximumBytes: Int64
    let progress: @Sendable (DownloadProgress) -> Void
    let finished = DispatchSemaphore(value: 0)
    let started = ContinuousClock.now
    let state: Mutex<State>

    init(sink: PartialFile, resumeFrom: Int64, url: URL, maximumBytes: Int64, progress: @escaping @Sendable (DownloadProgress) -> Void) {
        self.sink = sink
        self.resumeFrom = resumeFrom
        self.url = url
        self.maximumBytes = maximumBytes
        self.progress = progress
        state = Mutex(State(bytes: resumeFrom))
    }

    func secondsSinceLastActivity() -> Double {
        let last = state.withLock { $0.lastActivity }
        let elapsed = ContinuousClock.now - last
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func markStalled() { state.withLock { $0.stalled = true } }

    /// True once the outcome is known without waiting for the task to end.
    func isDecided() -> Bool {
        state.withLock { $0.failure != nil || $0.alreadyComplete || $0.isFull }
    }

    private func fail(_ message: String, kind: StyleFilterError.Kind = .unavailable, retriable: Bool, discard: Bool = false) {
        state.withLock { state in
            if state.failure == nil { state.failure = .init(error: StyleFilterError(kind, message), retriable: retriable, discard: discard) }
        }
    }

    private func failTooLarge(_ bytes: Int64) {
        fail("\(url.absoluteString) sends \(ByteCount.format(bytes)) or more, over the \(ByteCount.format(maximumBytes)) allowed for this model "
            + "(STYLEFILTER_MAX_DOWNLOAD_BYTES; by default 1.5x its catalogue size); nothing was installed", kind: .badInput, retriable: false,
            discard: true)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        state.withLock { $0.lastActivity = .now }
        guard let http = response as? HTTPURLResponse else {
            fail("\(url.absoluteString) did not answer with HTTP", retriable: false)
            completionHandler(.cancel)
            return
        }
        let length = response.expectedContentLength
        // A declared size over the limit is refused before any byte is written.
        if (200...299).contains(http.statusCode), length > maximumBytes - (http.statusCode == 206 ? resumeFrom : 0) {
            failTooLarge(length + (http.statusCode == 206 ? resumeFrom : 0))
            completionHandler(.cancel)
            return
        }
        switch http.statusCode {
        case 200:
            // A full response: the server ignored the Range request (or there was none); start over.
            do {
                if resumeFrom > 0 { try sink.truncate() }
                state.withLock {
                    $0.bytes = 0
                    $0.total = length >= 0 ? length : nil
                    $0.accepted = true
                }
                completionHandler(.allow)
            } catch let error as StyleFilterError {
                fail(error.message, kind: error.kind, retriable: false)
                completionHandler(.cancel)
            } catch {
                fail("\(error)", retriable: false)
                completionHandler(.cancel)
            }
        case 206:
            let range = ContentRange(http.value(forHTTPHeaderField: "Content-Range"))
            guard let range, range.first == resumeFrom else {
                fail("\(url.absoluteString) sent a range that does not continue the partial file", retriable: false)
                try? sink.truncate()
                completionHandler(.cancel)
                return
            }
            state.withLock {
                $0.total = range.total ?? (length >= 0 ? resumeFrom + length : nil)
                $0.accepted = true
            }
            completionHandler(.allow)
        case 416:
            // The partial file already holds everything (or more than the server has).
            let total = ContentRange(http.value(forHTTPHeaderField: "Content-Range"))?.total
            if let total, total == resumeFrom {
                state.withLock {
                    $0.alreadyComplete = true
                    $0.total = total
                }
            } else {
                try? sink.truncate()
                fail("\(url.absoluteString) refused to resume the partial file; starting over", retriable: true)
            }
            completionHandler(.cancel)
        default:
            let reason = HTTPURLResponse.localizedString(forStatusCode: http.statusCode)
            fail(
                "\(url.absoluteString) answered HTTP \(http.statusCode) (\(reason))",
                retriable: http.statusCode >= 500)
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard state.withLock({ $0.accepted && $0.failure == nil }) else { return }
        let after = state.withLock { $0.bytes } + Int64(data.count)
        if after > maximumBytes {
            failTooLarge(after)
            dataTask.cancel()
            return
        }
        do {
            try sink.append(data)
        } catch let error as StyleFilterError {
            fail(error.message, kind: error.kind, retriable: false)
            dataTask.cancel()
            return
        } catch {
            fail("\(error)", retriable: false)
            dataTask.cancel()
            return
        }
        let report: DownloadProgress = state.withLock { state in
            state.bytes += Int64(data.count)
            state.lastActivity = .now
            return DownloadProgress(
                bytes: state.bytes, total: state.total, resumedFrom: resumeFrom, bytesPerSecond: rate(state.bytes),
                finished: false)
        }
        progress(report)
    }

    private func rate(_ bytes: Int64) -> Double {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Double(bytes - resumeFrom) / seconds : 0
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let error {
            let snapshot = state.withLock { $0 }
            if !snapshot.stalled && !snapshot.alreadyComplete && !snapshot.isFull && snapshot.failure == nil {
                let message = (error as NSError).localizedDescription
                let have = sink.sizeNow()
                // Bytes already arrived: the connection broke mid-transfer, which a resume can repair.
                let midTransfer = snapshot.bytes > resumeFrom
                fail(
                    midTransfer
                        ? "download of \(url.absoluteString) was interrupted after \(ByteCount.format(have)): \(message)"
                        : "cannot download \(url.absoluteString): \(message)",
                    retriable: midTransfer || (error as? URLError)?.code == .networkConnectionLost)
            }
        }
        state.withLock { $0.completed = true }
        finished.signal()
    }

    /// The final size, or the failure of this attempt.
    func result() throws -> Int64 {
        let snapshot = state.withLock { $0 }
        if let failure = snapshot.failure { throw failure }
        let have = sink.sizeNow()
        if snapshot.alreadyComplete { return have }
        if let total = snapshot.total, have != total {
            throw ModelDownloader.TransferFailure(
                error: StyleFilterError(
                    .unavailable,
                    "download of \(url.absoluteString) ended after \(ByteCount.format(have)) of \(ByteCount.format(total))"),
                retriable: have > resumeFrom)
        }
        do {
            let file = try PartialFile(path: sink.path)
            defer { file.close() }
            try file.sync()
        } catch let error as StyleFilterError {
            throw ModelDownloader.TransferFailure(error: error, retriable: false)
        }
        progress(
            DownloadProgress(bytes: have, total: have, resumedFrom: resumeFrom, bytesPerSecond: rate(have), finished: true))
        return have
    }
}

/// A parsed `Content-Range: bytes FIRST-LAST/TOTAL` (or `bytes */TOTAL`) header.
struct ContentRange: Equatable {
    var first: Int64?
    var last: Int64?
    var total: Int64?

    init?(_ header: String?) {
        guard let header, header.lowercased().hasPrefix("bytes ") else { return nil }
        let body = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = body.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        total = parts[1] == "*" ? nil : Int64(parts[1])
        if parts[0] != "*" {
            let bounds = parts[0].split(separator: "-").map { Int64($0) }
            guard bounds.count == 2, let first = bounds[0], let last = bounds[1] else { return nil }
            self.first = first
            self.last = last
        }
    }
}
