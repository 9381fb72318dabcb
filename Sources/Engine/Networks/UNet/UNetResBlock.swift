extension GroupNorm {
    /// guided-diffusion's `normalization(channels)`: `GroupNorm32` (32 groups, eps 1e-5).
    static func adm(_ store: WeightStore, channels: Int) throws -> GroupNorm {
        try GroupNorm(store, channels: channels, groups: 32, eps: 1e-5)
    }
}

/// ADM's `ResBlock`: GroupNorm-SiLU-conv, timestep-embedding scale/shift (or bias), GroupNorm-SiLU-conv,
/// plus a skip connection; optionally resampling (nearest 2x up / 2x2 average down) between the
/// first SiLU and conv, applied to the skip path too.
struct UNetResBlock: Sendable {
    let inNorm: GroupNorm
    let inConv: Conv2d
    let emb: Linear
    let outNorm: GroupNorm
    let outConv: Conv2d
    let skip: Conv2d?
    let resample: UNetPlan.Resample
    let scaleShiftNorm: Bool
    let outChannels: Int

    init(_ store: WeightStore, cin: Int, cout: Int, embDim: Int, resample: UNetPlan.Resample, scaleShiftNorm: Bool) throws {
        inNorm = try .adm(store.scoped("in_layers.0"), channels: cin)
        inConv = try Conv2d(store.scoped("in_layers.2"), inChannels: cin, outChannels: cout, kernel: 3, padding: 1, allowsWinograd: true)
        emb = try Linear(store.scoped("emb_layers.1"), inFeatures: embDim, outFeatures: scaleShiftNorm ? 2 * cout : cout)
        outNorm = try .adm(store.scoped("out_layers.0"), channels: cout)
        outConv = try Conv2d(store.scoped("out_layers.3"), inChannels: cout, outChannels: cout, kernel: 3, padding: 1, allowsWinograd: true)
        skip = cin == cout ? nil : try Conv2d(store.scoped("skip_connection"), inChannels: cin, outChannels: cout, kernel: 1)
        self.resample = resample
        self.scaleShiftNorm = scaleShiftNorm
        outChannels = cout
    }

    /// `embActivated` is `SiLU(emb)`, shared by all blocks (a constant: no gradient flows into it).
    func callAsFunction(_ x: Variable, embActivated: Tensor) -> Variable {
        body(x, normalized: inNorm(x, silu: true), embActivated: embActivated)
    }

    /// The block applied to the channel concatenation of `parts` (an output block's [h, skip]).
    /// The first GroupNorm is recomputed in the backward pass from the parts, so the concatenated
    /// copy is never kept (the skip is kept by the input path anyway): the concat is cheap to
    /// redo, and at full resolution it is the largest activation of the block.
    func callAsFunction(concatenating parts: [Variable], embActivated: Tensor) -> Variable {
        let x = Ops.concat(parts, axis: 1)
        let norm = inNorm
        let normalized = parts.contains(where: \.requiresGradient)
            ? Ops.checkpoint(parts) { p in norm(Ops.concat(p, axis: 1), silu: true) }
            : norm(x, silu: true)
        return body(x, normalized: normalized, embActivated: embActivated)
    }

    private func body(_ x: Variable, normalized: Variable, embActivated: Tensor) -> Variable {
        var h = normalized
        var residual = x
        switch resample {
        case .none: break
        case .up:
            h = Ops.upsampleNearest2x(h)
            residual = Ops.upsampleNearest2x(x)
        case .down:
            h = Ops.avgPool2x2(h)
            residual = Ops.avgPool2x2(x)
        }
        h = inConv(h)
        let e = emb(Variable(embActivated)).value
        if scaleShiftNorm {
            let scale = Ops.sliceTensor(e, axis: 1, 0..<outChannels)
            let shift = Ops.sliceTensor(e, axis: 1, outChannels..<(2 * outChannels))
            h = outNorm(h, scaleShift: (scale, shift), silu: true)
        } else {
            h = h + Variable(e.reshaped([e.shape[0], outChannels, 1, 1]))
            h = outNorm(h, silu: true)
        }
        h = outConv(h)
        if let skip { residual = skip(residual) }
        return residual + h
    }
}

/// ADM's spatial `AttentionBlock`: GroupNorm, 1x1 qkv projection, multi-head attention, 1x1
/// output projection, residual.
struct UNetAttentionBlock: Sendable {
    let norm: GroupNorm
    let qkv: PointwiseConv1d
    let projOut: PointwiseConv1d
    let heads: Int
    let legacyOrder: Bool

    init(_ store: WeightStore, channels c: Int, heads: Int, legacyOrder: Bool) throws {
        precondition(heads > 0 && c % heads == 0, "attention: \(c) channels do not split into \(heads) heads")
        norm = try .adm(store.scoped("norm"), channels: c)
        qkv = try PointwiseConv1d(store.scoped("qkv"), inChannels: c, outChannels: 3 * c)
        projOut = try PointwiseConv1d(store.scoped("proj_out"), inChannels: c, outChannels: c)
        self.heads = heads
        self.legacyOrder = legacyOrder
    }

    func callAsFunction(_ x: Variable) -> Variable {
        let (b, c) = (x.shape[0], x.shape[1])
        let flat = Ops.reshape(x, [b, c, x.value.count / (b * c)])
        let a = Ops.qkvAttention(qkv(norm(flat)), heads: heads, legacyOrder: legacyOrder)
        let h = projOut(a)
        return Ops.reshape(flat + h, x.shape)
    }
}
