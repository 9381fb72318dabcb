/// Weights of a 2-D convolution layer.
struct ConvLayer: Sendable {
    let weight: Tensor
    let bias: Tensor
    let stride: Int
    let padding: Int

    init(_ store: WeightStore, cin: Int, cout: Int, kernel: Int, stride: Int = 1) throws {
        weight = try store.tensor("weight", shape: [cout, cin, kernel, kernel])
        bias = try store.tensor("bias", shape: [cout])
        self.stride = stride
        padding = kernel / 2
    }

    func callAsFunction(_ x: Variable) -> Variable {
        Ops.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

/// Affine parameters of a 32-group `GroupNorm`.
struct GroupNormLayer: Sendable {
    static let groups = 32
    let weight: Tensor
    let bias: Tensor

    init(_ store: WeightStore, channels: Int) throws {
        weight = try store.tensor("weight", shape: [channels])
        bias = try store.tensor("bias", shape: [channels])
    }

    func callAsFunction(_ x: Variable, scaleShift: (scale: Tensor, shift: Tensor)? = nil, silu: Bool) -> Variable {
        Ops.groupNorm(x, groups: Self.groups, weight: weight, bias: bias, eps: 1e-5, scaleShift: scaleShift, silu: silu)
    }
}

/// ADM's `ResBlock`: GroupNorm-SiLU-conv, timestep-embedding scale/shift (or bias), GroupNorm-SiLU-conv,
/// plus a skip connection; optionally resampling (nearest 2x up / 2x2 average down) between the
/// first SiLU and conv, applied to the skip path too.
struct UNetResBlock: Sendable {
    let inNorm: GroupNormLayer
    let inConv: ConvLayer
    let embWeight: Tensor
    let embBias: Tensor
    let outNorm: GroupNormLayer
    let outConv: ConvLayer
    let skip: ConvLayer?
    let resample: UNetPlan.Resample
    let scaleShiftNorm: Bool
    let outChannels: Int

    init(_ store: WeightStore, cin: Int, cout: Int, embDim: Int, resample: UNetPlan.Resample, scaleShiftNorm: Bool) throws {
        inNorm = try GroupNormLayer(store.scoped("in_layers.0"), channels: cin)
        inConv = try ConvLayer(store.scoped("in_layers.2"), cin: cin, cout: cout, kernel: 3)
        let embOut = scaleShiftNorm ? 2 * cout : cout
        embWeight = try store.tensor("emb_layers.1.weight", shape: [embOut, embDim])
        embBias = try store.tensor("emb_layers.1.bias", shape: [embOut])
        outNorm = try GroupNormLayer(store.scoped("out_layers.0"), channels: cout)
        outConv = try ConvLayer(store.scoped("out_layers.3"), cin: cout, cout: cout, kernel: 3)
        skip = cin == cout ? nil : try ConvLayer(store.scoped("skip_connection"), cin: cin, cout: cout, kernel: 1)
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
        let e = Ops.linear(Variable(embActivated), weight: embWeight, bias: embBias).value
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
    let norm: GroupNormLayer
    let qkvWeight: Tensor, qkvBias: Tensor
    let projWeight: Tensor, projBias: Tensor
    let heads: Int
    let legacyOrder: Bool

    init(_ store: WeightStore, channels c: Int, heads: Int, legacyOrder: Bool) throws {
        precondition(heads > 0 && c % heads == 0, "attention: \(c) channels do not split into \(heads) heads")
        norm = try GroupNormLayer(store.scoped("norm"), channels: c)
        qkvWeight = try store.tensor("qkv.weight", shape: [3 * c, c, 1])
        qkvBias = try store.tensor("qkv.bias", shape: [3 * c])
        projWeight = try store.tensor("proj_out.weight", shape: [c, c, 1])
        projBias = try store.tensor("proj_out.bias", shape: [c])
        self.heads = heads
        self.legacyOrder = legacyOrder
    }

    func callAsFunction(_ x: Variable) -> Variable {
        let (b, c) = (x.shape[0], x.shape[1])
        let flat = Ops.reshape(x, [b, c, x.value.count / (b * c)])
        let qkv = Ops.conv1x1(norm(flat, silu: false), weight: qkvWeight, bias: qkvBias)
        let a = Ops.qkvAttention(qkv, heads: heads, legacyOrder: legacyOrder)
        let h = Ops.conv1x1(a, weight: projWeight, bias: projBias)
        return Ops.reshape(flat + h, x.shape)
    }
}
