extension Ops {
    /// Group normalisation of `x [B, C, ...]` (PyTorch `GroupNorm`: biased variance over each group's
    /// channels and positions), then `* weight[c] + bias[c]`.
    ///
    /// `scaleShift` (each `[B, C]`) additionally applies ADM's `h * (1 + scale) + shift` per sample and
    /// channel, and `silu` applies SiLU afterwards: one pass forward and backward, keeping only `x`.
    /// The scale/shift are constants (no gradient flows into them).
    public static func groupNorm(
        _ x: Variable, groups: Int, weight: Tensor, bias: Tensor, eps: Float = 1e-5,
        scaleShift: (scale: Tensor, shift: Tensor)? = nil, silu: Bool = false
    ) -> Variable {
        precondition(x.rank >= 2, "groupNorm expects [B, C, ...], got \(x.shape)")
        let (batch, channels) = (x.shape[0], x.shape[1])
        precondition(channels % groups == 0, "groupNorm: \(channels) channels are not divisible by \(groups) groups")
        precondition(weight.shape == [channels] && bias.shape == [channels], "groupNorm: affine shapes \(weight.shape), \(bias.shape) for \(channels) channels")
        let spatial = x.value.count / max(batch * channels, 1)
        // Fold affine and scale/shift into one per-(b, c) map: (xhat*w + b)*(1+s) + t.
        var gamma = [Float](repeating: 0, count: batch * channels)
        var beta = [Float](repeating: 0, count: batch * channels)
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { bb in
                for b in 0..<batch {
                    for c in 0..<channels {
                        var (gm, bt) = (w[c], bb[c])
                        if let (scale, shift) = scaleShift {
                            let s = scale.storage.pointer[b * channels + c], t = shift.storage.pointer[b * channels + c]
                            gm *= 1 + s
                            bt = bt * (1 + s) + t
                        }
                        gamma[b * channels + c] = gm
                        beta[b * channels + c] = bt
                    }
                }
            }
        }
        if let (scale, shift) = scaleShift {
            precondition(scale.count == batch * channels && shift.count == batch * channels,
                "groupNorm: scale/shift must have \(batch)x\(channels) elements, got \(scale.shape), \(shift.shape)")
        }
        let out = Tensor(uninitializedShape: x.shape)
        var mean = [Float](repeating: 0, count: batch * groups)
        var rstd = [Float](repeating: 0, count: batch * groups)
        NormalizationKernel.groupNormForward(
            x: x.value.readPointer, batch: batch, channels: channels, spatial: spatial, groups: groups, eps: eps,
            gamma: gamma, beta: beta, silu: silu, y: out.mutablePointer, mean: &mean, rstd: &rstd)
        withExtendedLifetime(x) {}
        let input = x.value
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: input.shape)
            NormalizationKernel.groupNormBackward(
                x: input.readPointer, dy: dy.readPointer, batch: batch, channels: channels, spatial: spatial, groups: groups,
                gamma: gamma, beta: beta, silu: silu, mean: mean, rstd: rstd, dx: dx.mutablePointer)
            withExtendedLifetime((input, dy)) {}
            return [dx]
        }
    }

    /// Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`.
    public static func layerNorm(_ x: Variable, weight: Tensor, bias: Tensor, eps: Float) -> Variable {
        let d = x.shape.last ?? 1
        precondition(weight.shape == [d] && bias.shape == [d], "layerNorm: affine shapes \(weight.shape), \(bias.shape) for width \(d)")
        let rows = x.value.count / max(d, 1)
        let out = Tensor(uninitializedShape: x.shape)
        var mean = [Float](repeating: 0, count: rows)
        var rstd = [Float](repeating: 0, count: rows)
        NormalizationKernel.layerNormForward(
            x: x.value.readPointer, rows: rows, d: d, eps: eps, gamma: weight.readPointer, beta: bias.readPointer,
            y: out.mutablePointer, mean: &mean, rstd: &rstd)
        withExtendedLifetime((x, weight, bias)) {}
        let input = x.value
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: input.shape)
            NormalizationKernel.layerNormBackward(
                x: input.readPointer, dy: dy.readPointer, rows: rows, d: d, gamma: weight.readPointer,
                mean: mean, rstd: rstd, dx: dx.mutablePointer)
            withExtendedLifetime((input, dy, weight)) {}
            return [dx]
        }
    }
}
