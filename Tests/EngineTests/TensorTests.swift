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
