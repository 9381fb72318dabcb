import Testing
@testable import Engine

@Suite struct TensorTests {
    @Test func copyOnWriteKeepsValueSemantics() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        var b = a.reshaped([3, 2])
        b.withUnsafeMutableBufferPointer { $0[0] = 42 }
        #expect(a.scalars[0] == 1)
        #expect(b.scalars[0] == 42)
        #expect(b.shape == [3, 2])
    }
}

@Suite struct BorrowedStorageTests {
    final class Owner {}

    @Test func writingABorrowedTensorCopiesInsteadOfTouchingTheOwnersMemory() {
        let backing = UnsafeMutablePointer<Float>.allocate(capacity: 4)
        defer { backing.deallocate() }
        backing.update(repeating: 7, count: 4)
        var t = Tensor(shape: [4], storage: TensorStorage(borrowing: backing, count: 4, owner: Owner()))
        t.withUnsafeMutableBufferPointer { $0[0] = 1 }
        #expect(backing[0] == 7)
        #expect(t.scalars == [1, 7, 7, 7])
        #expect(!t.storage.isBorrowed)
    }
}
