import Foundation
import Testing
@testable import Engine

/// Pickles that nest, share or repeat without end, and tensor views that repeat: the unpickler, the tensor walk
/// and the teardown stay within a fixed stack and a bounded amount of work and memory (issue #11).
@Suite struct CheckpointPickleBudgetTests {
    /// `{"w": <top of the stack>}` around whatever `body` pushes, in a torch.save zip with storage "0" of four floats.
    static func stateDict(_ body: (inout PickleBuilder) -> Void) -> [UInt8] {
        TorchZipBuilder.singleEntry(storage: RawBytes.f32([1, 2, 3, 4]), body)
    }

    /// Pushes the arguments of `_rebuild_tensor_v2` for storage "0" viewed as a [4] tensor.
    static func tensorArguments(_ p: inout PickleBuilder) {
        p.tensorArguments(storageType: "FloatStorage", key: "0", numel: 4, offset: 0, shape: [4], strides: [1])
    }

    /// Outcome of opening `bytes` as a checkpoint: the tensor "w", or the error.
    static func open(_ bytes: [UInt8], seconds: Double = 60) -> Result<[Float], CheckpointError>? {
        finishes(within: seconds, "opening the checkpoint") {
            do {
                return try HostileFile.withFile("pickle.pt", bytes) { path in
                    Result<[Float], CheckpointError>.success(try Checkpoint.open(path).tensor(named: "w").scalars)
                }
            } catch let e as CheckpointError {
                return .failure(e)
            } catch {
                return .failure(.corrupt(path: "", reason: "unexpected \(error)"))
            }
        }
    }

    static func corruptReason(_ outcome: Result<[Float], CheckpointError>?) -> String? {
        guard case .failure(.corrupt(_, let reason))? = outcome else {
            Issue.record("expected a corrupt checkpoint, got \(String(describing: outcome))")
            return nil
        }
        return reason
    }

    /// `_rebuild_from_type_v2(f, type, args, state)` calls `f(*args)`: nested 500,000 deep it used to take one
    /// stack frame per level. Unwrapped by a loop, the chain ends in the tensor like a shallow one.
    @Test func rebuildFromTypeChainsAreUnwrappedWithoutRecursion() throws {
        let depth = 500_000
        let bytes = Self.stateDict { $0.rebuildFromTypeChain(depth: depth, tensorArguments: Self.tensorArguments) }
        #expect(try #require(Self.open(bytes)) == .success([1, 2, 3, 4]))
    }

    /// 100 tuples, each holding the previous one twice (a few hundred bytes): 2^100 paths. Without tensors the
    /// shared tuples are walked once; with a tensor at the bottom naming every path is refused by the walk's budget.
    @Test func sharedTupleGraphsFinishQuickly() throws {
        func graph(_ bottom: (inout PickleBuilder) -> Void) -> [UInt8] {
            Self.stateDict { p in
                bottom(&p)
                p.sharedTuples(levels: 100)
            }
        }
        let empty = graph { $0.emptyTuple() }
        #expect(empty.count < 2048)
        guard case .failure(.unsupportedFormat(_, let reason))? = Self.open(empty, seconds: 20) else {
            Issue.record("a graph of empty tuples was not reported as holding no tensors")
            return
        }
        #expect(reason.contains("no named tensors"))

        let withTensor = graph { p in
            p.global("torch._utils", "_rebuild_tensor_v2")
            Self.tensorArguments(&p)
            p.reduce()
        }
        let reason2 = Self.corruptReason(Self.open(withTensor, seconds: 20))
        #expect(reason2?.contains("shared containers") == true, "\(reason2 ?? "")")
    }

    /// Deep chains that become garbage while the machine runs (popped from the stack, or a memo slot written
    /// over) used to be freed recursively on the spot; a list appended to itself was never freed at all.
    @Test func deepAndCyclicGarbageIsFreedWithoutRecursion() throws {
        let bytes = Self.stateDict { p in
            p.int(0)
            for _ in 0..<300_000 { p.op(0x85) }  // TUPLE1, 300k deep
            p.op(0x30)  // POP: the whole chain is garbage
            p.emptyList()
            p.put(0)  // the head of a list chain, held only by memo slot 0
            for _ in 0..<300_000 {
                p.emptyList()
                p.put(1)
                p.op(0x61)  // APPEND into the list below
                p.op(0x30)
                p.get(1)
            }
            p.op(0x30)
            p.none()
            p.put(0)  // slot 0 written over: the chain is garbage
            p.op(0x30)
            p.emptyList()
            p.op(0x32)  // DUP
            p.op(0x61)  // APPEND: a list that contains itself
            p.op(0x30)
            p.global("torch._utils", "_rebuild_tensor_v2")
            Self.tensorArguments(&p)
            p.reduce()
        }
        #expect(try #require(Self.open(bytes)) == .success([1, 2, 3, 4]))
    }

    @Test func valueFloodsAreRefused() throws {
        var dups = [UInt8](repeating: 0x32, count: SafeUnpickler.maxValues + 1)  // DUP
        dups.insert(0x4E, at: 0)  // NONE
        let bytes = Self.stateDict { $0.raw(dups) }
        let reason = Self.corruptReason(Self.open(bytes))
        #expect(reason?.contains("values") == true, "\(reason ?? "")")
    }

    /// BUILD copies a whole state dict into an object: 3 bytes that could repeat a megabyte of work endlessly
    /// (5,000 keys of 200 bytes, so that the budget runs out after a few hundred copies).
    @Test func repeatedWorkIsBounded() throws {
        let bytes = Self.stateDict { p in
            p.global("__torch__.m", "M")
            p.emptyTuple()
            p.newObj()
            p.emptyDict()
            p.put(0)
            p.mark()
            let stem = String(repeating: "k", count: 195)
            for k in 0..<5000 {
                p.string(stem + "\(k)")
                p.none()
            }
            p.setItems()
            p.op(0x30)
            for _ in 0..<400 {
                p.get(0)
                p.build()
            }
        }
        let reason = Self.corruptReason(Self.open(bytes))
        #expect(reason?.contains("more work") == true, "\(reason ?? "")")
    }

    /// A long key hashed again by every SETITEM is charged by its length.
    @Test func repeatedLongKeysAreBounded() throws {
        let bytes = Self.stateDict { p in
            p.emptyDict()
            p.put(0)
            p.string(String(repeating: "k", count: 1 << 20))
            p.put(1)
            p.op(0x30)
            for _ in 0..<300 {
                p.get(0)
                p.get(1)
                p.none()
                p.setItem()
                p.op(0x30)
            }
            p.get(0)
        }
        let reason = Self.corruptReason(Self.open(bytes))
        #expect(reason?.contains("more work") == true, "\(reason ?? "")")
    }

    /// A stride-0 view repeats one element: 2^62 of them passed the bounds check and were materialised.
    @Test func repeatingViewsAreBoundedButSmallOnesStillRead() throws {
        let huge = TorchZipBuilder.stateDict([.init(name: "w", numel: 1, shape: [1 << 62], strides: [0])], storages: ["0": RawBytes.f32([7])])
        let reason = try HostileFile.corruptReason(huge, file: "stride0.pt")
        #expect(reason.contains("repeats") && reason.contains("'w'"), "\(reason)")

        let small = TorchZipBuilder.stateDict([.init(name: "w", numel: 1, shape: [3, 2], strides: [0, 0])], storages: ["0": RawBytes.f32([7])])
        let broadcast = try HostileFile.withFile("broadcast.pt", small) { try Checkpoint.open($0).tensor(named: "w") }
        #expect(broadcast.scalars == [Float](repeating: 7, count: 6))
    }

    /// A size tuple of more dimensions than any tensor has is refused before it is copied.
    @Test func absurdTensorRanksInPicklesAreCorrupt() throws {
        let ones = [Int](repeating: 1, count: 65)
        let reason = try HostileFile.corruptReason(
            TorchZipBuilder.stateDict([.init(name: "w", numel: 1, shape: ones, strides: ones)], storages: ["0": RawBytes.f32([1])]), file: "rank.pt")
        #expect(reason.contains("65 dimensions"), "\(reason)")
    }
}
