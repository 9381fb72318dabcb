import Engine

/// Receives a run's intermediate x̂₀ estimates (live previews, video frames) as the samplers make them.
/// The samplers ask before each step, so a tiled run only blends an estimate when one is wanted.
package protocol EstimateSink: AnyObject {
    /// Counts one more step and says whether its estimate is wanted.
    func wantsNextEstimate() -> Bool
    /// A whole-image estimate at the model size, `[1, 3, S, S]`.
    func estimate(_ x0: Tensor) throws
    /// A tiled run's estimate at full resolution, top to bottom: `rows` bands (`[1, 3, n, W]` from row
    /// `y0`), then `endRows()`.
    func rows(_ band: Tensor, y0: Int) throws
    func endRows() throws
}
