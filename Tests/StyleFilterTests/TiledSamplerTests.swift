import Engine
import Foundation
import Testing
@testable import StyleFilter

/// Real tiled runs with the small random-weight test networks of the guided-step fixtures (ADM U-Net,
/// DINO ViT, CLIP ViT; configs from the manifest). These check the plumbing of the fusion (a single
/// tile is whole mode, seams, determinism), not image quality.
@Suite(.serialized) struct TiledSamplerTests {
    struct Networks {
        let unet: UNetModel
        let dino: DINOLosses
        let clip: NamedCLIPModel
        var size: Int { unet.config.imageSize }
    }

    static func networks() throws -> Networks {
        let entry = try #require(Fixtures.entries(kind: "diffuseit_steps").first)
        let c = try #require(entry["case"] as? [String: Any])
        let unet = try FixtureNetworks.unet(file: try #require(c["unet_weights_file"] as? String), config: try #require(c["unet_config"] as? [String: Any]))
        let dinoConfig = c["dino_config"] as? [String: Any]
        let dino = try FixtureNetworks.dino(file: try #require(c["dino_weights_file"] as? String), heads: dinoConfig?["num_heads"] as? Int)
        let clip = try FixtureNetworks.clip(file: try #require(c["clip_weights_file"] as? String), config: c["clip_config"] as? [String: Any])
        return Networks(unet: unet, dino: DINOLosses(model: dino, globalPatchSize: c["dino_global_patch_size"] as? Int ?? 224), clip: clip)
    }

    /// A smooth, structured test image `[1, 3, h, w]` in [−1, 1] (bands, rings, a diagonal edge).
    static func image(width w: Int, height h: Int, phase: Float = 0) -> Tensor {
        var s = [Float](repeating: 0, count: 3 * w * h)
        for y in 0..<h {
            for x in 0..<w {
                let fx = Float(x) / 9, fy = Float(y) / 7
                let r = ((Float(x) - Float(w) / 2) * (Float(x) - Float(w) / 2) + (Float(y) - Float(h) / 3) * (Float(y) - Float(h) / 3)).squareRoot()
                s[y * w + x] = 0.8 * sinf(fx + phase) * cosf(fy)
                s[(h + y) * w + x] = 0.7 * cosf(r / 5 + phase)
                s[(2 * h + y) * w + x] = x > y ? 0.6 : -0.6
            }
        }
        return Tensor(shape: [1, 3, h, w], scalars: s)
    }

    /// Few steps, no restarts (random networks leave [−1, 1] at once), two views.
    static func quick(imageMode: Bool, ddim: Bool = false) -> DiffuseITParameters {
        var p = DiffuseITParameters.named("paper", imageMode: imageMode)!
        p.timestepRespacing = "6"
        p.skipTimesteps = 2
        p.diffIter = 3
        p.resampleCount = 2
        p.augNum = 2
        p.useRangeRestart = false
        p.ddim = ddim
        return p
    }

    static func sampler(
        _ n: Networks, source: Tensor, imageMode: Bool, ddim: Bool = false, overlap: Int = 8, canvasMemoryLimit: Int = TilingOptions().canvasMemoryLimit
    ) throws -> TiledSampler {
        let p = quick(imageMode: imageMode, ddim: ddim)
        let diffusion = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: p.timestepRespacing)
        let grid = try TileGrid(width: source.shape[3], height: source.shape[2], tileSize: n.size, overlap: overlap)
        let clip = imageMode ? nil : try CLIPGuidance(models: [n.clip], targetText: "black leopard", sourceText: "lion",
            sourceImage: TiledSampler.sourceView(TensorTileSource(source), grid: grid), tokenizer: CLIPTokenizer.shared)
        let style = imageMode ? image(width: n.size, height: n.size, phase: 1.3) : nil
        return try TiledSampler(parameters: p, diffusion: diffusion, unet: n.unet, dino: n.dino, clip: clip, source: TensorTileSource(source), style: style,
            overlap: overlap, canvasMemoryLimit: canvasMemoryLimit)
    }

    static func run(_ s: TiledSampler, source: Tensor, seed: UInt64) throws -> Tensor {
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        let k0 = s.diffusion.stepCount - s.parameters.skipTimesteps - 1
        return try s.run(initial: TensorTileSource(source), startIndex: k0, resampleCount: s.parameters.resampleCount, rng: &rng)
    }

    /// A model-size image is one tile: nothing to fuse, and the run must be whole mode exactly.
    @Test(arguments: [(true, false), (false, false), (true, true)])
    func singleTileRunEqualsWholeMode(_ imageMode: Bool, _ ddim: Bool) throws {
        let n = try Self.networks()
        let source = Self.image(width: n.size, height: n.size)
        let tiled = try Self.sampler(n, source: source, imageMode: imageMode, ddim: ddim)
        #expect(tiled.isSingleTile)
        let p = Self.quick(imageMode: imageMode, ddim: ddim)
        let guidance = try DiffuseITGuidance(parameters: p, diffusion: tiled.diffusion, unet: n.unet, dino: n.dino, clip: tiled.clip, source: source,
            style: imageMode ? Self.image(width: n.size, height: n.size, phase: 1.3) : nil)
        var rng = PhiloxGenerator(seed: 5, stream: 1)
        let whole = try DiffuseITSampler(guidance: guidance).run(rng: &rng)
        let ours = try Self.run(tiled, source: source, seed: 5)
        #expect(ours.shape == whole.shape)
        #expect(ours.scalars == whole.scalars, "rel-L2 \(relativeL2(ours.scalars, whole.scalars))")
    }

    @Test func fusedRunIsDeterministicBySeedAndKeepsTheSize() throws {
        let n = try Self.networks()
        let source = Self.image(width: 61, height: 37)
        let a = try Self.run(try Self.sampler(n, source: source, imageMode: false), source: source, seed: 9)
        let b = try Self.run(try Self.sampler(n, source: source, imageMode: false), source: source, seed: 9)
        let c = try Self.run(try Self.sampler(n, source: source, imageMode: false), source: source, seed: 10)
        #expect(a.shape == [1, 3, 37, 61])
        #expect(a.scalars == b.scalars)
        #expect(a.scalars != c.scalars)
        #expect(a.scalars.allSatisfy { $0.isFinite })
    }

    /// The image-mode global view has a gradient that reaches the tiles, and each step hands the next
    /// the view of its fused target.
    @Test func globalViewFeedsEveryTile() throws {
        let n = try Self.networks()
        let source = Self.image(width: 70, height: 40)
        let s = try Self.sampler(n, source: source, imageMode: true)
        #expect(s.grid.count > 1)
        let pw = s.grid.paddedWidth, ph = s.grid.paddedHeight
        let padded = TiledImageOps.mirrorPadded(source, width: pw, height: ph)
        var rng = PhiloxGenerator(seed: 1)
        let x = try TiledCanvas(width: pw, height: ph, memoryLimit: .max), next = try TiledCanvas(width: pw, height: ph, memoryLimit: .max)
        try x.writeRows(0, try s.diffusion.qSample(xStart: padded, t: [3], noise: rng.normalTensor(padded.shape)))
        let step = try s.step(x, k: 3, noise: rng.normalField(), views: nil, view: s.view.view(of: padded), firstStep: true, into: next)
        let g = try #require(step.viewGradient)
        #expect(g.shape == [1, 3, n.size, n.size])
        #expect(g.scalars.contains { $0 != 0 })
        let target = try #require(step.targetView)
        #expect(target.shape == [1, 3, n.size, n.size] && target.scalars != s.view.view(of: padded).scalars)
        #expect(try next.readRows(0, count: ph).scalars != (try x.readRows(0, count: ph)).scalars)
        // Every tile referenced the source once and cached it.
        #expect(s.referencePasses == s.grid.count)
        _ = try s.step(next, k: 2, noise: rng.normalField(), views: nil, view: target, firstStep: false, into: x)
        #expect(s.referencePasses == s.grid.count, "cached keys are reused")
    }

    /// Canvases spilled to a temporary file give the same run, byte for byte, as canvases in memory.
    @Test(arguments: [true, false])
    func fileBackedCanvasesGiveTheSameRun(_ imageMode: Bool) throws {
        let n = try Self.networks()
        let source = Self.image(width: 75, height: 41)
        let inMemory = try Self.sampler(n, source: source, imageMode: imageMode)
        let onFile = try Self.sampler(n, source: source, imageMode: imageMode, canvasMemoryLimit: 0)
        let a = try Self.run(inMemory, source: source, seed: 6), b = try Self.run(onFile, source: source, seed: 6)
        #expect(!inMemory.usedFileCanvases && onFile.usedFileCanvases)
        #expect(a.scalars == b.scalars)
    }

    @Test func referenceCacheBudgetBoundsMemoryAndRecomputes() throws {
        let n = try Self.networks()
        let source = Self.image(width: 70, height: 40)
        let p = Self.quick(imageMode: true)
        let diffusion = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: p.timestepRespacing)
        let s = try TiledSampler(parameters: p, diffusion: diffusion, unet: n.unet, dino: n.dino, clip: nil, source: TensorTileSource(source),
            style: Self.image(width: n.size, height: n.size, phase: 1.3), overlap: 8, referenceCacheBytes: 0)
        let cached = try Self.sampler(n, source: source, imageMode: true)
        let a = try Self.run(s, source: source, seed: 4), b = try Self.run(cached, source: source, seed: 4)
        #expect(a.scalars == b.scalars, "recomputed references give the same run")
        #expect(s.referencePasses == s.grid.count * s.steps(startIndex: 3, resampleCount: 2))
        #expect(cached.referencePasses == cached.grid.count)
    }

    /// Seam check (issue 6): the squared pixel differences across tile borders are, on average, not
    /// above those inside the tiles by more than 10 %. The image is sized so the default overlap gives
    /// exactly a 4 x 3 grid with that overlap.
    @Test(arguments: [true, false])
    func tileBordersCarryNoMoreGradientEnergyThanTheInterior(_ imageMode: Bool) throws {
        let n = try Self.networks()
        let m = try Self.seams(n, imageMode: imageMode, overlap: TilingOptions().overlap(forTile: n.size))
        #expect(m.interior > 0, "a flat output says nothing about seams")
        #expect(m.ratio <= 1.1, "border energy \(m.border) vs interior \(m.interior)")
    }

    /// The control that shows the measure can fail: the same fused output with a checkerboard of
    /// ±48 grey levels added over the tiles (a step at every tile start, as stitched tiles of different
    /// brightness would have) fails it. With these noise-like, partly saturated random-network outputs
    /// (neighbour differences of ~80 levels RMS) smaller steps hide in the noise: the check is coarse.
    @Test func theMeasureSeesASmallStepAtTileBorders() throws {
        let n = try Self.networks()
        let o = TilingOptions().overlap(forTile: n.size), t = n.size, w = 4 * t - 3 * o, h = 3 * t - 2 * o
        let source = Self.image(width: w, height: h)
        let s = try Self.sampler(n, source: source, imageMode: true, overlap: o)
        var bytes = DiffuseITOutput.truncatedBytes(planar: try Self.run(s, source: source, seed: 21).scalars, channels: 3)
        let clean = TiledSeamMeasure(bytes: bytes, width: w, height: h, grid: s.grid)
        for y in 0..<h {
            for x in 0..<w {
                let cx = s.grid.columns.lastIndex { $0 <= x }!, cy = s.grid.rows.lastIndex { $0 <= y }!
                let offset = (cx + cy) % 2 == 0 ? 48 : -48
                for c in 0..<3 { bytes[3 * (y * w + x) + c] = UInt8(clamping: Int(bytes[3 * (y * w + x) + c]) + offset) }
            }
        }
        let stepped = TiledSeamMeasure(bytes: bytes, width: w, height: h, grid: s.grid)
        print("seam control: clean ratio \(clean.ratio), with ±48 steps \(stepped.ratio)")
        #expect(clean.ratio <= 1.1 && stepped.ratio > 1.1)
    }

    static func seams(_ n: Networks, imageMode: Bool, overlap o: Int) throws -> TiledSeamMeasure {
        let t = n.size, w = 4 * t - 3 * o, h = 3 * t - 2 * o
        let source = Self.image(width: w, height: h)
        let s = try Self.sampler(n, source: source, imageMode: imageMode, overlap: o)
        #expect(s.grid.columns.count == 4 && s.grid.rows.count == 3)
        let out = try Self.run(s, source: source, seed: 21)
        let m = TiledSeamMeasure(bytes: DiffuseITOutput.truncatedBytes(planar: out.scalars, channels: 3), width: w, height: h, grid: s.grid)
        print("seams (\(imageMode ? "image" : "text") mode, \(w)x\(h), overlap \(o)): border \(m.border), interior \(m.interior), ratio \(m.ratio)")
        return m
    }
}

/// Mean squared difference between neighbouring pixels across tile borders versus everywhere else
/// (8-bit interleaved RGB, both orientations).
struct TiledSeamMeasure {
    var border = 0.0, interior = 0.0
    var ratio: Double { border / interior }

    init(bytes: [UInt8], width w: Int, height h: Int, grid: TileGrid) {
        let t = grid.tileSize
        // A border line lies between pixel i − 1 and i where a tile starts or ends.
        let xb = Set((grid.columns.map { $0 } + grid.columns.map { $0 + t }).filter { $0 > 0 && $0 < w })
        let yb = Set((grid.rows.map { $0 } + grid.rows.map { $0 + t }).filter { $0 > 0 && $0 < h })
        var bSum = 0.0, bCount = 0, iSum = 0.0, iCount = 0
        func d(_ a: Int, _ b: Int) -> Double {
            var s = 0.0
            for c in 0..<3 { let e = Double(bytes[3 * a + c]) - Double(bytes[3 * b + c]); s += e * e }
            return s / 3
        }
        for y in 0..<h {
            for x in 1..<w {
                let e = d(y * w + x, y * w + x - 1)
                if xb.contains(x) { bSum += e; bCount += 1 } else { iSum += e; iCount += 1 }
            }
        }
        for y in 1..<h {
            for x in 0..<w {
                let e = d(y * w + x, (y - 1) * w + x)
                if yb.contains(y) { bSum += e; bCount += 1 } else { iSum += e; iCount += 1 }
            }
        }
        border = bSum / Double(max(bCount, 1))
        interior = iSum / Double(max(iCount, 1))
    }
}
