/// Range restart with a bound: upstream restarts the whole run every time x̂₀ leaves [−1, 1] (and can loop
/// forever); we restart at most `parameters.maxRestarts` times, warning each time and once at the limit.
/// Shared by the whole-image and the tiled samplers.
struct RangeRestartBudget {
    let parameters: DiffuseITParameters
    private(set) var restarts = 0

    init(_ parameters: DiffuseITParameters) { self.parameters = parameters }

    /// Called when step `k` fired the range test: whether to restart the run now.
    mutating func shouldRestart(atStep k: Int, warn: (String) -> Void) -> Bool {
        let p = parameters
        if restarts < p.maxRestarts {
            restarts += 1
            warn("style: x0 estimate left [-1, 1] at step \(k) (weighted range loss above \(p.restartThreshold)); restarting (\(restarts) of at most \(p.maxRestarts))")
            return true
        }
        if restarts == p.maxRestarts {
            restarts += 1
            warn("style: range restart limit (\(p.maxRestarts)) reached; finishing this run without further restarts")
        }
        return false
    }
}
