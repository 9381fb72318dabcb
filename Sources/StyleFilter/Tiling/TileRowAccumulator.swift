import Engine
import Glibc

/// The weighted sum of a step's tiles over the rows that tiles still to come can touch.
///
/// Tiles arrive row of tiles by row of tiles. Before the row of tiles starting at y, every row above
/// y is final (no later tile covers it) and is handed on; the rows held are then y ..< y + T, so
/// the accumulator holds one tile-height band of the image, never the image.
struct TileRowAccumulator {
    let width: Int, height: Int, tileSize: Int
    /// First image row held.
    private(set) var start = 0
    /// `[3, T, W]` partial sums of rows start ..< start + T.
    private var band: [Float]

    init(width: Int, height: Int, tileSize: Int) {
        self.width = width
        self.height = height
        self.tileSize = tileSize
        band = [Float](repeating: 0, count: 3 * tileSize * width)
    }

    /// `band[tile] += weight(u, v) · values` for `tile` of `grid`, whose row of tiles must start at
    /// ``start`` (finish the rows above it first).
    mutating func add(_ values: Tensor, grid: TileGrid, tile: TileGrid.Tile) {
        let t = tileSize, w = width, rowOffset = 0
        precondition(tile.y == start, "finish the rows above a row of tiles first")
        let cw = grid.columnWeights[tile.column], rw = grid.rowWeights[tile.row]
        values.withUnsafeBufferPointer { src in
            band.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for v in 0..<t {
                        let d = (c * t + rowOffset + v) * w + tile.x, s = (c * t + v) * t, wv = rw[v]
                        for u in 0..<t { dst[d + u] += wv * cw[u] * src[s + u] }
                    }
                }
            }
        }
    }

    /// Hands rows ``start`` ..< `y` (final) to `emit` as `[1, 3, n, W]` with their first row, and
    /// moves the band down to start at `y`.
    mutating func finish(below y: Int, _ emit: (Tensor, Int) throws -> Void) rethrows {
        let n = min(y, height) - start
        guard n > 0 else { return }
        let t = tileSize, w = width
        precondition(n <= t, "rows of tiles are at most a tile apart")
        let kept = max(0, min(t, height - start) - n)
        var out = Tensor(uninitializedShape: [1, 3, n, w])
        band.withUnsafeMutableBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in
                for c in 0..<3 {
                    (o.baseAddress! + c * n * w).update(from: b.baseAddress! + c * t * w, count: n * w)
                    let base = b.baseAddress! + c * t * w
                    if kept > 0 { memmove(base, base + n * w, kept * w * MemoryLayout<Float>.size) }
                    (base + kept * w).update(repeating: 0, count: (t - kept) * w)
                }
            }
        }
        let first = start
        start += n
        try emit(out, first)
    }
}
