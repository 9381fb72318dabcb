import Engine
import Foundation

/// The per-mode part of `style --dry-run`: for an image size, how many tiles, network passes and
/// about how long each mode (whole, tiled, detail) takes.
package struct TiledPlan: Sendable {
    package let plan: StylePlan
    package let width: Int, height: Int
    /// The U-Net's native square size (the tile side).
    package let tileSize: Int
    package let tiling: TilingOptions

    package init(plan: StylePlan, width: Int, height: Int, tileSize: Int, tiling: TilingOptions) {
        self.plan = plan
        self.width = width
        self.height = height
        self.tileSize = tileSize
        self.tiling = tiling
    }

    /// Measured on the reference 2-core machine (BENCHMARKS.md, `tiles-*` cases, full official
    /// architectures): seconds of the image-mode global pass (one DINO forward+backward on the view)
    /// and of a DINO reference forward of a source tile. A tile step costs a whole-mode step.
    static let secondsPerGlobalDINOPass = 2.1
    static let secondsPerReferencePass = 0.7
    /// Cached source keys per tile for DINO ViT-B/8 (785 tokens x 768 plus the CLS token, float32).
    static let referenceBytesPerTile = 4 * (785 * 768 + 768)

    /// Network passes and estimated seconds of one mode, per output.
    package struct ModeCost: Sendable, Equatable {
        package var tiles: Int
        var unetPasses: Int, dinoPasses: Int, dinoReferencePasses: Int, clipPasses: Int
        package var seconds: Double
    }

    /// The grid for the planned size, or nil when the overlap is invalid.
    package var grid: TileGrid? { try? TileGrid(width: width, height: height, tileSize: tileSize, overlap: tiling.overlap(forTile: tileSize)) }

    /// The cost of `mode` per output (nil when the schedule leaves no step or the overlap is invalid).
    package func cost(_ mode: StyleMode) -> ModeCost? {
        guard let wholeSteps = plan.guidedStepsPerOutput else { return nil }
        let p = plan.parameters
        let views = plan.imageMode ? 0 : plan.models.clip.count * p.augNum
        let whole = ModeCost(tiles: 1, unetPasses: wholeSteps, dinoPasses: wholeSteps, dinoReferencePasses: 0, clipPasses: wholeSteps * views,
            seconds: Double(wholeSteps) * plan.estimatedSecondsPerStep)
        guard mode != .whole else { return whole }
        guard let grid else { return nil }
        let steps = mode == .detail ? tiling.detailSteps : wholeSteps
        let tiles = grid.count
        // A single tile runs the target terms inside its step, as whole mode; otherwise one global
        // pass per step (DINO in image mode, the CLIP views in text mode).
        let globalDINO = tiles > 1 && plan.imageMode ? steps : 0
        // A tile step is a whole-mode step (its ArcFace pass, in faces mode, is on the view: a slight overestimate).
        let tileSeconds = Double(steps * tiles) * plan.secondsPerNetworkStep
        let globalSeconds = Double(globalDINO) * TiledPlan.secondsPerGlobalDINOPass
            + Double(steps * views) * plan.secondsPerCLIPViewPass
        // Source references: once per tile while the cache lasts, every step for the rest.
        let cached = min(tiles, tiling.referenceCacheBytes / TiledPlan.referenceBytesPerTile)
        let references = tiles + (tiles - cached) * (steps - 1)
        var cost = ModeCost(tiles: tiles, unetPasses: steps * tiles, dinoPasses: steps * tiles + globalDINO, dinoReferencePasses: references,
            clipPasses: steps * views, seconds: tileSeconds + globalSeconds + Double(references) * TiledPlan.secondsPerReferencePass)
        if mode == .detail {
            cost.unetPasses += whole.unetPasses
            cost.dinoPasses += whole.dinoPasses
            cost.clipPasses += whole.clipPasses
            cost.seconds += whole.seconds
        }
        return cost
    }

    /// Lines for the dry run: one per mode.
    package var description: String {
        var lines = ["  modes for a \(width)x\(height) image (tiles of \(tileSize), overlap \(tiling.overlap(forTile: tileSize)); per output, forward+backward passes; times for the official architectures):"]
        if let grid {
            lines.append("    grid: \(grid.columns.count) x \(grid.rows.count) = \(grid.count) tiles")
            let (pw, ph) = (grid.paddedWidth, grid.paddedHeight)
            let place = TiledCanvas.fitsInMemory(width: pw, height: ph, memoryLimit: tiling.canvasMemoryLimit) ? "memory" : "temporary files in $TMPDIR"
            lines.append("    tiled/detail state: 2 canvases of \(ByteCount.format(Int64(TiledCanvas.bytes(width: pw, height: ph)))) in \(place); "
                + "image buffers \(ByteCount.format(Int64(3 * width * height))) each (8-bit RGB)")
        }
        for mode in StyleMode.allCases {
            guard let c = cost(mode) else {
                lines.append("    \(mode.rawValue): not possible with these settings")
                continue
            }
            var passes = "U-Net \(c.unetPasses), DINO \(c.dinoPasses)"
            if c.dinoReferencePasses > 0 { passes += " (+\(c.dinoReferencePasses) forward-only)" }
            if c.clipPasses > 0 { passes += ", CLIP \(c.clipPasses)" }
            let what: String
            switch mode {
            case .whole: what = "resize to \(tileSize)x\(tileSize) and back"
            case .tiled: what = "\(c.tiles) tiles fused at every step"
            case .detail: what = "whole + \(tiling.detailSteps) refinement steps over \(c.tiles) tiles from t=\(tiling.detailLevel)"
            }
            lines.append("    \(mode.rawValue): \(what); \(passes); about \(TiledPlan.format(c.seconds * Double(plan.iterations)))")
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ seconds: Double) -> String {
        if seconds < 90 { return "\(Int(seconds.rounded())) s" }
        if seconds < 5400 { return "\(Int((seconds / 60).rounded())) min" }
        return String(format: "%.1f h", seconds / 3600)
    }
}
