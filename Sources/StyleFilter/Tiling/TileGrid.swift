import Foundation

/// Where the model-size tiles of a tiled run sit, and how their results are blended.
///
/// An axis shorter than a tile is first mirror-padded to the tile size (the padding is cropped away at
/// the end), so every tile is a full model-size square. Along an axis of (padded) length L the tiles
/// start at evenly spread origins 0 … L − T, as few as keep every overlap at least `overlap` pixels.
///
/// Blending: each tile has a separable weight, a raised-cosine ramp across every side it shares with a
/// neighbour and flat elsewhere (also flat at the image border). The weights are normalised per axis,
/// so at every pixel the weights of the tiles covering it sum to one: a product of per-axis partitions
/// of unity is one. Fusing tiles is then a plain weighted sum with no division by a weight map.
package struct TileGrid: Sendable, Equatable {
    /// The image size (before padding).
    package let width: Int, height: Int
    /// The tile side (the U-Net's native size).
    package let tileSize: Int
    /// The smallest overlap between neighbouring tiles that was asked for.
    package let overlap: Int
    /// Tile origins along x and y, in padded coordinates.
    package let columns: [Int], rows: [Int]
    /// Normalised blending profiles: `columnWeights[i][u]` is the x weight of column i at offset u.
    let columnWeights: [[Float]], rowWeights: [[Float]]

    /// The padded size the sampler works on: each side at least one tile.
    var paddedWidth: Int { max(width, tileSize) }
    var paddedHeight: Int { max(height, tileSize) }
    /// Number of tiles.
    package var count: Int { columns.count * rows.count }

    /// One tile: its origin in padded coordinates and its place in the grid.
    package struct Tile: Sendable, Equatable {
        package let x: Int, y: Int, column: Int, row: Int
        /// Row-major position in the grid.
        package let index: Int
    }

    /// Every tile, row by row.
    package var tiles: [Tile] {
        var out: [Tile] = []
        out.reserveCapacity(count)
        for (r, y) in rows.enumerated() {
            for (c, x) in columns.enumerated() { out.append(Tile(x: x, y: y, column: c, row: r, index: r * columns.count + c)) }
        }
        return out
    }

    /// The blending weight of `tile` at offset (u, v) inside it.
    package func weight(_ tile: Tile, u: Int, v: Int) -> Float {
        columnWeights[tile.column][u] * rowWeights[tile.row][v]
    }

    /// The grid for a `width x height` image; throws for a non-positive size or an overlap that leaves
    /// no stride (`overlap` must be in 0 ..< tileSize).
    package init(width: Int, height: Int, tileSize: Int, overlap: Int) throws {
        guard width > 0, height > 0 else { throw DiffuseITError.badInput("tiling needs a non-empty image, got \(width)x\(height)") }
        guard tileSize > 0 else { throw DiffuseITError.badParameter("tile size must be positive, got \(tileSize)") }
        guard overlap >= 0, overlap < tileSize else {
            throw DiffuseITError.badParameter("--overlap \(overlap) must be at least 0 and below the tile size \(tileSize)")
        }
        self.width = width
        self.height = height
        self.tileSize = tileSize
        self.overlap = overlap
        columns = TileGrid.origins(length: max(width, tileSize), tile: tileSize, overlap: overlap)
        rows = TileGrid.origins(length: max(height, tileSize), tile: tileSize, overlap: overlap)
        columnWeights = TileGrid.profiles(origins: columns, tile: tileSize, length: max(width, tileSize))
        rowWeights = TileGrid.profiles(origins: rows, tile: tileSize, length: max(height, tileSize))
    }

    /// Origins along an axis of `length` ≥ `tile`: n = ⌈(L − T)/(T − overlap)⌉ + 1 tiles, the i-th at
    /// round(i·(L − T)/(n − 1)), so the first starts at 0, the last ends at L and neighbours overlap by
    /// at least `overlap`.
    static func origins(length: Int, tile: Int, overlap: Int) -> [Int] {
        precondition(length >= tile, "pad the axis to a tile first")
        if length == tile { return [0] }
        let stride = tile - overlap
        let n = (length - tile + stride - 1) / stride + 1
        return (0..<n).map { i in Int((Double(i * (length - tile)) / Double(n - 1)).rounded()) }
    }

    /// Raised-cosine ramps over each shared stretch, normalised so the profiles covering any position
    /// sum to one. sin² up and cos² down cross-fade exactly to one where two tiles meet; the
    /// normalisation also covers places where three tiles overlap.
    static func profiles(origins: [Int], tile: Int, length: Int) -> [[Float]] {
        var raw: [[Double]] = []
        for (i, o) in origins.enumerated() {
            let left = i > 0 ? origins[i - 1] + tile - o : 0
            let right = i + 1 < origins.count ? o + tile - origins[i + 1] : 0
            raw.append((0..<tile).map { u in
                var w = 1.0
                if left > 0, u < left { w *= ramp(Double(u) + 0.5, over: Double(left)) }
                if right > 0, u >= tile - right { w *= ramp(Double(tile - u) - 0.5, over: Double(right)) }
                return w
            })
        }
        var total = [Double](repeating: 0, count: length)
        for (i, o) in origins.enumerated() { for u in 0..<tile { total[o + u] += raw[i][u] } }
        return origins.enumerated().map { i, o in (0..<tile).map { u in Float(raw[i][u] / total[o + u]) } }
    }

    /// sin²(π/2 · d/width) for d in (0, width): rises from near 0 to near 1, strictly positive.
    private static func ramp(_ d: Double, over width: Double) -> Double {
        let s = sin(Double.pi / 2 * d / width)
        return s * s
    }
}
