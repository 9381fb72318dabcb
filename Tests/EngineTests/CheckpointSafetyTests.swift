import Foundation
import Testing
@testable import Engine

/// Hostile pickles inside otherwise valid torch.save zips are refused, naming the global.
@Suite struct CheckpointSafetyTests {
    /// A zip shaped like a torch.save file whose data.pkl is `pickle`.
    static func archive(_ pickle: PickleBuilder) -> [UInt8] {
        var zip = ZipWriter()
        zip.add("evil/data.pkl", pickle.bytes)
        zip.add("evil/data/0", RawBytes.f32([1, 2, 3, 4]))
        zip.add("evil/version", "3\n")
        return zip.bytes()
    }

    static func expectRefusal(_ pickle: PickleBuilder, module: String, name: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("evil.pt", archive(pickle))
        #expect(throws: CheckpointError.forbiddenGlobal(module: module, name: name)) { try Checkpoint.open(path) }
        do {
            _ = try Checkpoint.open(path)
        } catch {
            #expect("\(error)".contains("'\(module).\(name)'"), "message should name the global: \(error)")
        }
    }

    /// `os.system("echo pwned")` the classic way: GLOBAL, argument tuple, REDUCE.
    @Test func refusesOsSystem() throws {
        var p = PickleBuilder()
        p.global("os", "system")
        p.string("echo pwned > /tmp/stylefilter-pwned")
        p.op(0x85)  // TUPLE1
        p.reduce()
        p.stop()
        try Self.expectRefusal(p, module: "os", name: "system")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/stylefilter-pwned"))
    }

    @Test func refusesBuiltinsEval() throws {
        var p = PickleBuilder()
        p.global("builtins", "eval")
        p.string("__import__('os').system('true')")
        p.op(0x85)
        p.reduce()
        p.stop()
        try Self.expectRefusal(p, module: "builtins", name: "eval")
    }

    /// The forbidden global hidden after a valid tensor entry, resolved through STACK_GLOBAL.
    @Test func refusesPosixSystemViaStackGlobalInsideAStateDict() throws {
        var p = PickleBuilder()
        p.global("collections", "OrderedDict")
        p.emptyTuple()
        p.reduce()
        p.mark()
        p.string("w")
        p.tensor(storageType: "FloatStorage", key: "0", numel: 4, offset: 0, shape: [4], strides: [1])
        p.string("payload")
        p.stackGlobal("posix", "system")
        p.string("true")
        p.op(0x85)
        p.reduce()
        p.setItems()
        p.stop()
        try Self.expectRefusal(p, module: "posix", name: "system")
    }

    @Test func refusesSubprocessEvenWithoutACall() throws {
        var p = PickleBuilder()
        p.global("subprocess", "Popen")
        p.stop()
        try Self.expectRefusal(p, module: "subprocess", name: "Popen")
    }

    /// Allow-listed names that are not tensor-rebuilding callables cannot be called or instantiated.
    @Test func refusesReduceOnANonCallableAllowedGlobal() throws {
        var p = PickleBuilder()
        p.global("torch", "FloatStorage")
        p.int(10)
        p.op(0x85)
        p.reduce()
        p.stop()
        try Self.expectRefusal(p, module: "torch", name: "FloatStorage")

        var q = PickleBuilder()
        q.global("collections", "OrderedDict")
        q.emptyTuple()
        q.newObj()
        q.stop()
        try Self.expectRefusal(q, module: "collections", name: "OrderedDict")

        var r = PickleBuilder()  // a TorchScript class is an attribute bag, never a callable
        r.global("__torch__.evil", "Module")
        r.emptyTuple()
        r.reduce()
        r.stop()
        try Self.expectRefusal(r, module: "__torch__.evil", name: "Module")
    }

    /// INST/OBJ instantiate classes by name without GLOBAL; they are refused outright.
    @Test func refusesInstOpcode() throws {
        var p = PickleBuilder()
        p.mark()
        p.op(0x69)  // INST
        p.bytes(appending: Array("os\nsystem\n".utf8))
        p.stop()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("inst.pt", Self.archive(p))
        do {
            _ = try Checkpoint.open(path)
            Issue.record("INST was accepted")
        } catch let error as CheckpointError {
            guard case .corrupt(_, let reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(reason.contains("INST"))
        }
    }

    /// BUILD on anything but a TorchScript object, a dict or a tensor is refused.
    @Test func refusesBuildOnAList() throws {
        var p = PickleBuilder()
        p.emptyList()
        p.emptyDict()
        p.build()
        p.stop()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("build.pt", Self.archive(p))
        do {
            _ = try Checkpoint.open(path)
            Issue.record("BUILD on a list was accepted")
        } catch let error as CheckpointError {
            guard case .corrupt(_, let reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(reason.contains("BUILD"))
        }
    }
}

extension PickleBuilder {
    mutating func bytes(appending raw: [UInt8]) { for b in raw { op(b) } }
}

/// Resource abuse: deep nesting must end in an error, not a stack overflow (in the walk or when freeing).
@Suite struct CheckpointNestingTests {
    @Test func deeplyNestedPicklesAreRefusedWithoutCrashing() throws {
        var tuples = PickleBuilder()
        tuples.int(0)
        for _ in 0..<300_000 { tuples.op(0x85) }  // TUPLE1, nested 300k deep
        tuples.stop()
        // A list chain nested through APPEND and reachable only through the memo (the root is another list).
        var lists = PickleBuilder()
        lists.emptyList()
        lists.op(0x71); lists.op(0)  // BINPUT 0: the chain's head
        for _ in 0..<300_000 {
            lists.emptyList()
            lists.op(0x71); lists.op(1)  // BINPUT 1
            lists.op(0x61)  // APPEND: the new list goes into the one below it
            lists.op(0x30)  // POP the outer list
            lists.op(0x68); lists.op(1)  // BINGET 1: continue with the inner one
        }
        lists.stop()
        for (label, pickle) in [("tuples", tuples), ("lists", lists)] {
            let folder = try TemporaryFolder()
            defer { folder.remove() }
            let path = try folder.write("deep-\(label).pt", CheckpointSafetyTests.archive(pickle))
            #expect(throws: CheckpointError.self, "\(label)") { try Checkpoint.open(path) }
        }
    }
}
