/// Reading architectures from tensor shapes that come from a file: every extent is bounded before any
/// arithmetic on it, so that a hostile shape ([], [0], [2^62]) is refused with a reason and never traps.
enum ShapeRecognition {
    /// Largest extent a recogniser accepts: far above any real layer (CLIP's 49,408-token vocabulary), and small
    /// enough that sums and products of three extents cannot overflow `Int`.
    static let maxExtent = 1 << 24

    /// The side of a square grid of `count` cells, or nil when `count` is not a square of a positive side.
    /// Exact integer arithmetic (no Double→Int conversion of a NaN or a huge value).
    static func squareSide(of count: Int) -> Int? {
        guard count >= 1, count <= maxExtent * maxExtent else { return nil }
        var side = Int(Double(count).squareRoot())  // exact to within one for count < 2^52
        while side * side > count { side -= 1 }
        while (side + 1) * (side + 1) <= count { side += 1 }
        return side * side == count ? side : nil
    }

    /// `shape` when it has `rank` extents, each in `1...maxExtent`; else nil.
    static func bounded(_ shape: [Int]?, rank: Int) -> [Int]? {
        guard let shape, shape.count == rank, shape.allSatisfy({ (1...maxExtent).contains($0) }) else { return nil }
        return shape
    }
}

extension WeightStore {
    /// The shape of `name`, required to have `rank` extents, each in `1...ShapeRecognition.maxExtent`; otherwise
    /// throws `notRecognised(reason)` (the recogniser's own error) naming the tensor.
    func shape(_ name: String, rank: Int, orThrow notRecognised: (String) -> any Error) throws -> [Int] {
        guard let s = shape(of: name) else { throw notRecognised("no tensor \(fullName(name))") }
        guard ShapeRecognition.bounded(s, rank: rank) != nil else {
            throw notRecognised("\(fullName(name)) has shape \(s), expected \(rank) extents in 1...\(ShapeRecognition.maxExtent)")
        }
        return s
    }
}
