/// How the `style` stage maps the model's square size onto an image.
public enum StyleMode: String, Sendable, CaseIterable {
    /// Upstream's way: resize to the model size (256x256), translate, resize back. Cheapest; the
    /// result has 256-pixel detail.
    case whole
    /// The full-resolution image as overlapping model-size tiles fused at every step (MultiDiffusion).
    /// Full detail; cost grows with the pixel count.
    case tiled
    /// Whole mode, upscaled, the source's fine detail added back, then a short tiled refinement from a
    /// low noise level (``TilingOptions/detailSteps`` steps from base timestep
    /// ``TilingOptions/detailLevel``).
    case detail
}
