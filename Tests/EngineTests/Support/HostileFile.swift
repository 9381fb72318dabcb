import Foundation
import Testing
@testable import Engine

/// Helpers for tests that feed crafted files to the checkpoint readers (issue #11).
enum HostileFile {
    /// Writes `bytes` into a fresh folder, runs `body` on the path, removes the folder.
    static func withFile<R>(_ name: String, _ bytes: [UInt8], _ body: (String) throws -> R) throws -> R {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        return try body(try folder.write(name, bytes))
    }

    /// The `.corrupt` reason `Checkpoint.open` gives for `bytes` (recording an issue for anything else).
    static func corruptReason(_ bytes: [UInt8], file: String = "hostile.bin") throws -> String {
        try withFile(file, bytes) { path in
            let e = CheckpointErrorTests.error { _ = try Checkpoint.open(path) }
            guard case .corrupt(_, let reason) = e else {
                Issue.record("expected corrupt, got \(String(describing: e))")
                return ""
            }
            #expect(!reason.contains("\n"))
            return reason
        }
    }
}

/// Runs `body` on its own thread and records an issue when it takes longer than `seconds` (a hang), so that a
/// regression fails the suite instead of stalling it; the runaway thread ends with the test process.
func finishes<R>(within seconds: Double, _ what: String, _ body: @escaping @Sendable () -> R) -> R? {
    let done = DispatchSemaphore(value: 0)
    let result = LockedBox<R?>(nil)
    Thread.detachNewThread {
        let value = body()
        result.withLock { $0 = value }
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success else {
        Issue.record("\(what) did not finish within \(seconds) s")
        return nil
    }
    return result.withLock { $0 }
}

/// A value guarded by a lock, for handing a result between threads in tests.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
