/// PyTorch `nn.BatchNorm1d` / `nn.BatchNorm2d` in inference mode: the running statistics and the affine
/// parameters make one per-channel map `y = x·a_c + c_c` over `[B, C, ...]`.
///
/// Where a convolution precedes the BatchNorm, fold it into the convolution instead
/// (`Conv2d(_:conv:batchNorm:…)`); this layer serves BatchNorms that cannot be folded (one in front of a
/// zero-padded convolution, or on a network's output).
struct BatchNorm: Sendable {
    /// `a_c = weight_c / √(running_var_c + eps)`, rounded to float32.
    let scale: Tensor
    /// `c_c = bias_c − running_mean_c · a_c`, rounded to float32.
    let shift: Tensor

    /// The per-channel map in float64, from `weight`, `bias`, `running_mean` and `running_var` (shape
    /// `[channels]` each; `num_batches_tracked` only matters in training and is not read).
    struct Coefficients {
        let scale: [Double]
        let shift: [Double]

        init(_ store: WeightStore, channels: Int, eps: Float) throws {
            let gamma = try store.tensor("weight", shape: [channels]).scalars
            let beta = try store.tensor("bias", shape: [channels]).scalars
            let mean = try store.tensor("running_mean", shape: [channels]).scalars
            let variance = try store.tensor("running_var", shape: [channels]).scalars
            var scale = [Double](repeating: 0, count: channels), shift = [Double](repeating: 0, count: channels)
            for c in 0..<channels {
                let a = Double(gamma[c]) / (Double(variance[c]) + Double(eps)).squareRoot()
                scale[c] = a
                shift[c] = Double(beta[c]) - Double(mean[c]) * a
            }
            self.scale = scale
            self.shift = shift
        }
    }

    /// Loads the BatchNorm at `store`, checking shapes.
    init(_ store: WeightStore, channels: Int, eps: Float) throws {
        let c = try Coefficients(store, channels: channels, eps: eps)
        scale = Tensor(shape: [channels], scalars: c.scale.map { Float($0) })
        shift = Tensor(shape: [channels], scalars: c.shift.map { Float($0) })
    }

    func callAsFunction(_ x: Variable) -> Variable {
        Ops.channelAffine(x, scale: scale, shift: shift)
    }
}
