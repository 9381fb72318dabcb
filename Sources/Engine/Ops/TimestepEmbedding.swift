#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Ops {
    /// guided-diffusion's sinusoidal timestep embedding `[B, dim]`: `[cos(t·f), sin(t·f)]` with
    /// `f_i = exp(-ln(maxPeriod)·i/half)`, computed in float32 like upstream (a zero column is
    /// appended when `dim` is odd). Timesteps may be fractional. Not differentiable (a constant).
    public static func timestepEmbedding(_ timesteps: Tensor, dim: Int, maxPeriod: Float = 10000) -> Tensor {
        precondition(timesteps.rank == 1, "timestepEmbedding expects timesteps [B], got \(timesteps.shape)")
        let half = dim / 2
        let batch = timesteps.count
        var out = Tensor.zeros([batch, dim])
        let scale = -Float(log(Double(maxPeriod)))
        let freqs = (0..<half).map { i in expf(scale * Float(i) / Float(half)) }
        let t = timesteps.scalars
        out.withUnsafeMutableBufferPointer { o in
            for b in 0..<batch {
                for i in 0..<half {
                    let arg = t[b] * freqs[i]
                    o[b * dim + i] = cosf(arg)
                    o[b * dim + half + i] = sinf(arg)
                }
            }
        }
        return out
    }
}
