import Engine
import Foundation
import Testing
import VipsBridge
@testable import StyleFilter

/// Tile layout, blending weights, padding, the whole-image view and the streamed colour matching of
/// the tiled modes.
@Suite struct TiledGeometryTests {
    /// Awkward sizes: smaller than a tile, exactly a tile, one over, primes, 1-pixel strips, huge
    /// aspect ratios, with several overlaps.
    static let sizes: [(width: Int, height: Int, tile: Int, overlap: Int)] = [
        (1, 1, 32, 8), (31, 17, 32, 8), (32, 32, 32, 8), (33, 32, 32, 8), (1, 1000, 32, 8), (1000, 1, 32, 0),
        (257, 263, 256, 64), (1009, 997, 256, 64), (2000, 1500, 256, 64), (100_003, 3, 32, 16), (3, 40_009, 32, 31),
        (2000, 1500, 32, 8), (97, 89, 32, 1), (64, 64, 32, 24),
    ]

    @Test(arguments: sizes.indices)
    func tilesCoverThePaddedImageWithTheRequestedOverlap(_ i: Int) throws {
        let s = Self.sizes[i]
        let grid = try TileGrid(width: s.width, height: s.height, tileSize: s.tile, overlap: s.overlap)
        #expect(grid.paddedWidth == max(s.width, s.tile) && grid.paddedHeight == max(s.height, s.tile))
        for (origins, length) in [(grid.columns, grid.paddedWidth), (grid.rows, grid.paddedHeight)] {
            #expect(origins.first == 0)
            #expect(origins.last! + s.tile == length, "the last tile ends at the padded edge")
            for (a, b) in zip(origins, origins.dropFirst()) {
                #expect(b > a, "origins increase")
                #expect(a + s.tile - b >= s.overlap, "overlap \(a + s.tile - b) below \(s.overlap) at \(a), \(b)")
            }
            // As few tiles as the overlap allows: one fewer could not span the axis.
            let n = origins.count
            if n > 1 { #expect((n - 2) * (s.tile - s.overlap) + s.tile < length, "\(n) tiles where \(n - 1) would do") }
        }
        #expect(grid.tiles.count == grid.count)
        #expect(grid.tiles.map(\.index) == Array(0..<grid.count))
    }

    @Test(arguments: sizes.indices)
    func blendingWeightsArePositiveAndSumToOneEverywhere(_ i: Int) throws {
        let s = Self.sizes[i]
        let grid = try TileGrid(width: s.width, height: s.height, tileSize: s.tile, overlap: s.overlap)
        // Separable weights: check each axis' partition of unity exactly, then the 2-D sum on images
        // small enough to enumerate.
        for (origins, profiles, length) in [(grid.columns, grid.columnWeights, grid.paddedWidth), (grid.rows, grid.rowWeights, grid.paddedHeight)] {
            var sum = [Double](repeating: 0, count: length)
            for (o, profile) in zip(origins, profiles) {
                #expect(profile.count == s.tile)
                #expect(profile.allSatisfy { $0 > 0 && $0 <= 1 })
                for u in 0..<s.tile { sum[o + u] += Double(profile[u]) }
            }
            #expect(sum.allSatisfy { abs($0 - 1) < 1e-6 }, "axis sums \(sum.min()!)...\(sum.max()!)")
        }
        if grid.paddedWidth * grid.paddedHeight <= 300_000 {
            var sum = [Double](repeating: 0, count: grid.paddedWidth * grid.paddedHeight)
            for tile in grid.tiles {
                for v in 0..<s.tile { for u in 0..<s.tile { sum[(tile.y + v) * grid.paddedWidth + tile.x + u] += Double(grid.weight(tile, u: u, v: v)) } }
            }
            #expect(sum.allSatisfy { abs($0 - 1) < 1e-6 }, "2-D sums \(sum.min()!)...\(sum.max()!)")
        }
    }

    @Test func weightsRampSmoothlyAcrossOverlapsAndStayFlatAtTheBorder() throws {
        let grid = try TileGrid(width: 88, height: 32, tileSize: 32, overlap: 4)
        #expect(grid.columns == [0, 28, 56])
        let first = grid.columnWeights[0], middle = grid.columnWeights[1]
        #expect(first[0] == 1 && first[27] == 1, "flat at the image border and where no neighbour overlaps")
        #expect(first[31] < 0.05 && middle[0] < 0.05, "ramps nearly vanish at a tile's own edge")
        for u in 28..<31 { #expect(first[u] > first[u + 1], "monotone fall-off") }
        #expect(abs(first[28] + middle[0] - 1) < 1e-6)
    }

    @Test func invalidSizesAndOverlapsAreRejected() {
        #expect(throws: DiffuseITError.self) { try TileGrid(width: 0, height: 10, tileSize: 32, overlap: 8) }
        #expect(throws: DiffuseITError.self) { try TileGrid(width: 10, height: 10, tileSize: 32, overlap: 32) }
        #expect(throws: DiffuseITError.self) { try TileGrid(width: 10, height: 10, tileSize: 32, overlap: -1) }
    }

    @Test func mirrorPaddingReflectsAndReplicatesStrips() {
        let image = Tensor(shape: [1, 3, 1, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let padded = TiledImageOps.mirrorPadded(image, width: 8, height: 2)
        #expect(padded.shape == [1, 3, 2, 8])
        // Half-sample symmetric: 1 2 3 | 3 2 1 | 1 2; the single row is repeated.
        #expect(Array(padded.scalars[0..<8]) == [1, 2, 3, 3, 2, 1, 1, 2])
        #expect(Array(padded.scalars[8..<16]) == [1, 2, 3, 3, 2, 1, 1, 2])
        #expect(Array(padded.scalars[16..<24]) == [4, 5, 6, 6, 5, 4, 4, 5])
        let crop = TiledImageOps.crop(padded, x: 2, y: 1, width: 3, height: 1)
        #expect(crop.scalars == [3, 3, 2, 6, 6, 5, 9, 9, 8])
    }

    @Test(arguments: [(100, 37, 32), (32, 32, 32), (20, 7, 32), (257, 1000, 64)])
    func viewIsAnAntialiasedAverageAndItsSpreadIsTheScaledAdjoint(_ w: Int, _ h: Int, _ s: Int) {
        let v = TiledView(width: w, height: h, size: s)
        for axis in [v.x, v.y] {
            #expect(axis.forward.allSatisfy { abs($0.weights.reduce(0, +) - 1) < 1e-5 })
            // Away from the ends the spread is about a partition of unity (tents at their own spacing,
            // sampled at whole pixels, so only approximately for scales near 1).
            let r = Int((Double(axis.length) / Double(axis.size)).rounded(.up)) + 1
            if axis.length > 4 * r {
                #expect(axis.spread[r..<(axis.length - r)].allSatisfy { abs($0.shares.reduce(0, +) - 1) < 0.25 },
                    "interior spread sums \(axis.spread.map { $0.shares.reduce(0, +) })")
            }
        }
        #expect(v.view(of: Tensor(shape: [1, 3, h, w], repeating: 0.25)).scalars.allSatisfy { abs($0 - 0.25) < 1e-5 })
        var rng = PhiloxGenerator(seed: 3)
        let x = rng.normalTensor([1, 3, h, w]), g = rng.normalTensor([1, 3, s, s])
        let lhs = zip(v.view(of: x).scalars, g.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        // Spread over the image in tile-sized pieces, as the sampler does.
        var rhs = 0.0
        let t = 16, xs = x.scalars
        for y0 in stride(from: 0, to: h, by: t) {
            for x0 in stride(from: 0, to: w, by: t) {
                let piece = v.spread(g, x: x0, y: y0, tile: t).scalars
                for c in 0..<3 { for yy in 0..<t { for xx in 0..<t where y0 + yy < h && x0 + xx < w {
                    rhs += Double(piece[(c * t + yy) * t + xx]) * Double(xs[(c * h + y0 + yy) * w + x0 + xx])
                } } }
            }
        }
        let factor = Double(s * s) / Double(w * h)
        #expect(abs(lhs - factor * rhs) <= 1e-4 * max(1, abs(lhs)), "⟨Ax, g⟩ = \(lhs), scaled ⟨x, spread g⟩ = \(factor * rhs)")
        // Outside the real image the spread is zero.
        let outside = v.spread(g, x: w, y: 0, tile: 8)
        #expect(outside.scalars.allSatisfy { $0 == 0 })
    }

    @Test func streamedColourMatchingEqualsTheReference() {
        var rng = PhiloxGenerator(seed: 11)
        let output = (0..<(3 * 40 * 30)).map { _ in UInt8(rng.next() % 200 + 20) }
        let style = (0..<(3 * 16 * 16)).map { _ in UInt8(rng.next() % 256) }
        let reference = ColorMatching.mkl(source: output.map(Double.init), reference: style.map(Double.init)).bytes
        var streamed = output
        ColorMatching.mkl(&streamed, style: style)
        #expect(streamed == reference)
    }

    /// The fused image, built band by band from tiles (rows handed on once no later tile touches
    /// them), equals the direct weighted sum over a whole-image buffer; tiles of ones fuse to ones.
    @Test(arguments: [(75, 41, 32, 8), (32, 32, 32, 8), (20, 100, 32, 31), (130, 33, 32, 1)])
    func rowBandFusionEqualsTheWholeImageSum(_ w: Int, _ h: Int, _ t: Int, _ o: Int) throws {
        let grid = try TileGrid(width: w, height: h, tileSize: t, overlap: o)
        let pw = grid.paddedWidth, ph = grid.paddedHeight
        var rng = PhiloxGenerator(seed: 2)
        let values = grid.tiles.map { _ in rng.normalTensor([1, 3, t, t]) }
        var direct = [Float](repeating: 0, count: 3 * ph * pw)
        for (tile, v) in zip(grid.tiles, values) {
            for c in 0..<3 { for y in 0..<t { for x in 0..<t {
                direct[(c * ph + tile.y + y) * pw + tile.x + x] += grid.rowWeights[tile.row][y] * grid.columnWeights[tile.column][x] * v.scalars[(c * t + y) * t + x]
            } } }
        }
        for ones in [false, true] {
            var acc = TileRowAccumulator(width: pw, height: ph, tileSize: t)
            var fused = [Float](repeating: .nan, count: 3 * ph * pw)
            var nextRow = 0
            func finish(_ y: Int) {
                acc.finish(below: y) { band, y0 in
                    #expect(y0 == nextRow, "rows leave in order")
                    let n = band.shape[2]
                    nextRow += n
                    for c in 0..<3 { for r in 0..<n { for x in 0..<pw { fused[(c * ph + y0 + r) * pw + x] = band.scalars[(c * n + r) * pw + x] } } }
                }
            }
            for (tile, v) in zip(grid.tiles, values) {
                if tile.column == 0 { finish(tile.y) }
                acc.add(ones ? Tensor(shape: [1, 3, t, t], repeating: 1) : v, grid: grid, tile: tile)
            }
            finish(ph)
            #expect(nextRow == ph)
            if ones {
                #expect(fused.allSatisfy { abs($0 - 1) < 1e-5 })
            } else {
                #expect(relativeL2(fused, direct) < 1e-6)
            }
        }
    }

    /// A canvas that must spill but cannot create its file says where and how to fix it; a file-backed
    /// canvas leaves no file behind, even while it is open.
    @Test func canvasFilesAreUnlinkedAndAnUnwritableDirectoryIsAClearError() throws {
        #expect(throws: StyleFilterError.self) { try TiledCanvas(width: 64, height: 64, memoryLimit: 0, directory: "/nonexistent-stylefilter-dir") }
        do {
            _ = try TiledCanvas(width: 64, height: 64, memoryLimit: 0, directory: "/nonexistent-stylefilter-dir")
        } catch let error as StyleFilterError {
            #expect(error.message.contains("/nonexistent-stylefilter-dir") && error.message.contains("TMPDIR"), "\(error.message)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("canvas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let canvas = try TiledCanvas(width: 64, height: 64, memoryLimit: 0, directory: dir.path)
        #expect(canvas.isFileBacked)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "the working file has no name")
        #expect(try !TiledCanvas(width: 64, height: 64, memoryLimit: 1 << 20, directory: dir.path).isFileBacked, "small canvases need no file")
    }

    /// The view built from rows in uneven bands equals the one-shot view.
    @Test func viewFromRowBandsEqualsTheWholeView() {
        var rng = PhiloxGenerator(seed: 8)
        let w = 70, h = 53, image = rng.normalTensor([1, 3, h, w])
        let v = TiledView(width: w, height: h, size: 32)
        var builder = TiledView.Builder(v)
        var y0 = 0
        for n in [1, 7, 20, 25] {
            builder.add(rows: TiledImageOps.crop(image, x: 0, y: y0, width: w, height: n), at: y0)
            y0 += n
        }
        #expect(y0 == h)
        #expect(builder.view.scalars == v.view(of: image).scalars)
    }

    /// Tile sources: a libvips image read by region, mirror-padded past its edges, gives what the
    /// padded tensor holds; the canvas reads back what was written, in memory and in a file.
    @Test func tileSourcesAndCanvasesAgreeWithTensors() throws {
        var bytes = [UInt8](repeating: 0, count: 3 * 19 * 11)
        for i in bytes.indices { bytes[i] = UInt8((i * 37) % 256) }
        let image = try bytes.withUnsafeBufferPointer { try VImage.fromPixels($0, width: 19, height: 11, bands: 3, format: .uchar) }
        let planar = try image.planarRGB()
        let tensor = Tensor(shape: [1, 3, 11, 19], scalars: planar.samples.map { $0 * 2 - 1 })
        let padded = TiledImageOps.mirrorPadded(tensor, width: 40, height: 32)
        for (x, y, w, h) in [(0, 0, 19, 11), (3, 2, 32, 30), (8, 0, 32, 32), (0, 5, 40, 27)] {
            let expected = TiledImageOps.crop(padded, x: x, y: y, width: w, height: h).scalars
            #expect(try VipsTileSource(image).region(x: x, y: y, width: w, height: h).scalars == expected)
            #expect(try TensorTileSource(tensor).region(x: x, y: y, width: w, height: h).scalars == expected)
        }
        for limit in [Int.max, 0] {
            let canvas = try TiledCanvas(width: 40, height: 32, memoryLimit: limit)
            #expect(canvas.isFileBacked == (limit == 0))
            try canvas.writeRows(0, TiledImageOps.crop(padded, x: 0, y: 0, width: 40, height: 20))
            try canvas.writeRows(20, TiledImageOps.crop(padded, x: 0, y: 20, width: 40, height: 12))
            #expect(try canvas.read(x: 5, y: 9, width: 17, height: 13).scalars == TiledImageOps.crop(padded, x: 5, y: 9, width: 17, height: 13).scalars)
            try canvas.updateRows(bandHeight: 7) { band, _ in Ops.scale(Variable(band), 2).value }
            #expect(try canvas.readRows(0, count: 32).scalars == padded.scalars.map { $0 * 2 })
        }
    }

    @Test func detailScheduleKeepsEvenlySpreadLowTimesteps() throws {
        var o = TilingOptions()
        o.detailSteps = 4
        o.detailLevel = 90
        let d = try o.detailDiffusion()
        #expect(d.timestepMap == [0, 30, 60, 90])
        o.detailSteps = 0
        #expect(throws: DiffuseITError.self) { try o.detailDiffusion() }
        o.detailSteps = 5
        o.detailLevel = 1000
        #expect(throws: DiffuseITError.self) { try o.detailDiffusion() }
    }
}
