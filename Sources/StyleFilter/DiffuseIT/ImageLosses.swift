import Engine

/// The pixel-space pieces of DiffuseIT's guidance: range loss, MSE to the style image, the
/// noise-mixed x₀ estimate and the content-weight schedule.
enum ImageLosses {
    /// `range_loss(x).sum()`: per image, mean((x − clamp(x, −1, 1))²), summed over the batch.
    static func range(_ x: Variable) -> Variable {
        precondition(x.rank >= 1, "range loss needs a batch axis")
        let batch = x.shape[0]
        let excess = x - Ops.clamp(x, lower: -1, upper: 1)
        let perImage = Ops.mean(Ops.reshape(excess * excess, [batch, x.value.count / max(batch, 1)]), axis: 1)
        return Ops.sum(perImage)
    }

    /// `F.mse_loss(x, target)`: mean of squared differences over all elements.
    static func mse(_ x: Variable, _ target: Tensor) -> Variable {
        Ops.mse(x, Variable(target))
    }

    /// Blended Diffusion's `noisy_aug`: fac·x̂₀ + (1 − fac)·x_t with fac = √(1 − ᾱ_k) of the
    /// respaced schedule (the float64 factor rounded to float32, as PyTorch applies it).
    static func noiseMixed(predXStart: Variable, xT: Variable, factor: Double) -> Variable {
        Ops.scale(predXStart, Float(factor)) + Ops.scale(xT, Float(1 - factor))
    }

    /// DiffuseIT's `frac_cont`, the factor of the contrastive weight, from the previous step's
    /// unweighted CLIP loss (text mode; image mode passes nil and gets 1): 0.5 with
    /// `progressiveContrast` while the CLIP loss is above −0.5, then 2 with `regularizeContent`
    /// once it is below −0.5. (Upstream's third branch, 0.25 above −0.4, can never trigger.)
    static func contentWeightFactor(previousCLIPLoss: Float?, progressiveContrast: Bool, regularizeContent: Bool) -> Float {
        guard let loss = previousCLIPLoss else { return 1 }
        var frac: Float = 1
        if progressiveContrast, loss > -0.5 { frac = 0.5 }
        if regularizeContent, loss < -0.5 { frac = 2 }
        return frac
    }
}

extension Variable {
    /// `0.5·x + 0.5`: [−1, 1] images to [0, 1], as every feature network's input path starts.
    var unitRange: Variable { Ops.add(Ops.scale(self, 0.5), Variable(Tensor(shape: [1], repeating: 0.5))) }

}
