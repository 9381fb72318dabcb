import Foundation
import Testing
@testable import Engine

/// Only regular files are read as checkpoints or their configs: a FIFO, a directory or a device is refused from
/// its type, before anything could block on it or read it without end (issue #11).
@Suite struct CheckpointFileTypeTests {
    /// A FIFO is refused from its type, without opening it (which would wait for a writer forever).
    @Test func fifoIsRefusedWithoutBlocking() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.url.appendingPathComponent("pipe.pt").path
        try #require(mkfifo(path, 0o600) == 0)
        let outcome = finishes(within: 10, "opening a FIFO") { CheckpointErrorTests.error { _ = try Checkpoint.open(path) } }
        guard case .unreadable(_, let reason)?? = outcome else {
            Issue.record("FIFO: \(String(describing: outcome))")
            return
        }
        #expect(reason.contains("FIFO"), "\(reason)")
    }

    @Test func devicesAndDirectoriesAreRefusedByType() throws {
        for (path, kind) in [("/dev/zero", "device"), ("/dev/null", "device"), (NSTemporaryDirectory(), "directory")] {
            guard case .unreadable(_, let reason) = CheckpointErrorTests.error({ _ = try Checkpoint.open(path) }) else {
                Issue.record("\(path) was not refused as unreadable")
                continue
            }
            #expect(reason.contains(kind), "\(path): \(reason)")
        }
    }

    /// A FIFO named like a checkpoint's JSON config is refused, not read (which would wait for a writer forever).
    @Test func configBesideACheckpointMustBeARegularFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let checkpoint = try folder.write("model.pt", TorchZipBuilder.shapesOnly([("w", [1])]))
        try #require(mkfifo(folder.url.appendingPathComponent("model.json").path, 0o600) == 0)
        let outcome = finishes(within: 10, "resolving a config that is a FIFO") { () -> String in
            do {
                _ = try UNetConfig.resolve(checkpointPath: checkpoint, archive: try Checkpoint.open(checkpoint))
                return "resolved"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome?.contains("FIFO") == true, "\(outcome ?? "")")
    }
}
