#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// guided-diffusion's named beta schedules (`get_named_beta_schedule`), in float64.
public enum BetaSchedule: String, Sendable, CaseIterable {
    /// Ho et al.'s linear schedule, stretched to any step count: β from 1e-4·1000/T to 0.02·1000/T.
    case linear
    /// Nichol & Dhariwal's cosine schedule: ᾱ(s) = cos²((s+0.008)/1.008·π/2), β capped at 0.999.
    case cosine

    /// The schedule named `name` ("linear" or "cosine").
    public init(named name: String) throws {
        guard let schedule = BetaSchedule(rawValue: name) else { throw DiffusionError.unknownSchedule(name) }
        self = schedule
    }

    /// The `steps` betas, index 0 = least noise.
    public func betas(steps: Int) throws -> [Double] {
        guard steps >= 1 else { throw DiffusionError.invalidStepCount(steps) }
        switch self {
        case .linear:
            let scale = 1000 / Double(steps)
            return BetaSchedule.linspace(scale * 0.0001, scale * 0.02, count: steps)
        case .cosine:
            func alphaBar(_ s: Double) -> Double {
                let c = cos((s + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            }
            return (0..<steps).map { i in
                let t1 = Double(i) / Double(steps), t2 = Double(i + 1) / Double(steps)
                return min(1 - alphaBar(t2) / alphaBar(t1), 0.999)
            }
        }
    }

    /// numpy.linspace(start, stop, count) bit for bit: start + i·step with step = (stop−start)/(count−1),
    /// and the last element set to `stop` exactly.
    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }
}
