import Engine

/// Settings of the tiled and detail modes.
public struct TilingOptions: Sendable, Equatable {
    /// Minimum overlap of neighbouring tiles in pixels; nil: an eighth of the tile (32 at 256), the
    /// cheapest overlap that passed the seam measurement (BENCHMARKS.md, "Tiled modes").
    public var overlap: Int?
    /// Guided steps of the detail refinement.
    public var detailSteps = 4
    /// The base-schedule timestep (of 1000) the detail refinement starts from: its noise level.
    public var detailLevel = 100
    /// Memory allowed for cached DINO keys of the source tiles (about 2.4 MB per tile for ViT-B/8;
    /// beyond it a tile's reference is recomputed every step, one DINO forward, ~2 % of a tile step).
    public var referenceCacheBytes = 256 << 20
    /// Bytes each of the run's two full-resolution float canvases (x_t and the next sample, 12 bytes
    /// per pixel) may take in memory; larger ones live in an unlinked temporary file in `$TMPDIR`
    /// (a tiled canvas), so resident memory does not grow with the image. 32 MiB keeps images up to
    /// about 2.8 MP in memory.
    public var canvasMemoryLimit = 32 << 20

    public init() {}

    /// The overlap used with tiles of side `tile`.
    public func overlap(forTile tile: Int) -> Int { overlap ?? tile / 8 }

    /// Throws a one-line reason when the settings cannot work with tiles of side `tileSize`.
    public func validate(tileSize: Int) throws {
        let o = overlap(forTile: tileSize)
        guard (0..<tileSize).contains(o) else {
            throw DiffuseITError.badParameter("--overlap \(o) must be at least 0 and below the tile size \(tileSize)")
        }
        _ = try detailTimesteps()
    }

    /// The base-schedule timesteps the detail refinement keeps: `detailSteps` evenly spread over
    /// 0…`detailLevel` (the run starts at the last).
    func detailTimesteps() throws -> [Int] {
        guard detailSteps >= 1 else { throw DiffuseITError.badParameter("--detail-steps must be at least 1") }
        guard (1...999).contains(detailLevel), detailSteps <= detailLevel + 1 else {
            throw DiffuseITError.badParameter("--detail-level \(detailLevel) must be in 1...999 and at least --detail-steps - 1")
        }
        return detailSteps == 1 ? [detailLevel] : (0..<detailSteps).map { Int((Double($0 * detailLevel) / Double(detailSteps - 1)).rounded()) }
    }

    /// The detail refinement's diffusion: the linear 1000-step schedule keeping ``detailTimesteps()``.
    package func detailDiffusion() throws -> GaussianDiffusion {
        try DiffuseITParameters.diffusion(keeping: try detailTimesteps())
    }
}
