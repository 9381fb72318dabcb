import VipsBridge

/// `style --dry-run` inside a chain: takes the size the image has at this point of the chain from the
/// lazy pipeline (headers only; nothing is decoded) and ends the run with the plan of every mode for
/// that size as a ``StageReport``.
package struct StylePlanStage: Stage {
    package let plan: StylePlan
    /// The U-Net's native size (the tile side).
    package let tileSize: Int
    package let tiling: TilingOptions

    package init(plan: StylePlan, tileSize: Int, tiling: TilingOptions) {
        self.plan = plan
        self.tileSize = tileSize
        self.tiling = tiling
    }

    package var name: String { "style" }

    package func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        let modes = TiledPlan(plan: plan, width: image.width, height: image.height, tileSize: tileSize, tiling: tiling)
        throw StageReport(text: plan.description + "\n" + modes.description)
    }
}

/// Ends a run early with a report for standard output instead of an image (a dry run's plan); the
/// command line prints `text` and exits 0.
package struct StageReport: Error, Sendable {
    package let text: String

    package init(text: String) { self.text = text }
}
