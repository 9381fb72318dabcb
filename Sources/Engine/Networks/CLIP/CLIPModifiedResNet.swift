/// CLIP's ResNet image tower (`ModifiedResNet`, RN50/RN50x4/RN50x16...): a three-convolution stem with
/// average pooling, four stages of bottleneck blocks whose strided blocks average-pool instead of striding
/// (after `conv2`, and in front of the downsample convolution), and multi-head attention pooling.
/// BatchNorm runs in inference mode (running statistics), folded into the preceding convolutions at load.
final class CLIPModifiedResNet: @unchecked Sendable {
    let resolution: Int, embedDim: Int
    let stem: [Conv2d]
    let stages: [[CLIPBottleneck]]
    let pool: CLIPAttentionPool

    init(_ w: WeightStore, layers: [Int], width: Int, heads: Int, resolution: Int, embedDim: Int, bnEps: Float) throws {
        precondition(layers.count == 4, "ModifiedResNet has four stages")
        self.resolution = resolution
        self.embedDim = embedDim
        let half = width / 2
        stem = try [
            Conv2d(w, conv: "conv1", batchNorm: "bn1", inChannels: 3, outChannels: half, kernel: 3, stride: 2, padding: 1, eps: bnEps),
            Conv2d(w, conv: "conv2", batchNorm: "bn2", inChannels: half, outChannels: half, kernel: 3, padding: 1, eps: bnEps),
            Conv2d(w, conv: "conv3", batchNorm: "bn3", inChannels: half, outChannels: width, kernel: 3, padding: 1, eps: bnEps),
        ]
        var inplanes = width
        var stages: [[CLIPBottleneck]] = []
        for (s, count) in layers.enumerated() {
            let planes = width << s
            var blocks: [CLIPBottleneck] = []
            for i in 0..<count {
                blocks.append(try CLIPBottleneck(
                    w.scoped("layer\(s + 1).\(i)"), inplanes: inplanes, planes: planes, stride: (s > 0 && i == 0) ? 2 : 1, eps: bnEps))
                inplanes = planes * 4
            }
            stages.append(blocks)
        }
        self.stages = stages
        pool = try CLIPAttentionPool(w.scoped("attnpool"), spatial: resolution / 32, width: width * 32, heads: heads, outDim: embedDim)
    }

    /// `[B, 3, R, R]` → `[B, embedDim]`; `stageOutputs` receives the stem and each stage's output.
    func callAsFunction(_ image: Variable, stageOutputs: ((Variable) -> Void)? = nil) -> Variable {
        var x = image
        for conv in stem { x = Ops.relu(conv(x)) }
        x = Ops.avgPool2x2(x)
        stageOutputs?(x)
        for stage in stages {
            for block in stage { x = block(x) }
            stageOutputs?(x)
        }
        return pool(x)
    }

    var forwardMACs: Int {
        var macs = 0
        var side = resolution / 2
        for conv in stem { macs += conv.forwardMACs(outputSide: side) }
        side /= 2
        for (s, stage) in stages.enumerated() {
            for (i, block) in stage.enumerated() {
                let inSide = side
                if s > 0 && i == 0 { side /= 2 }
                macs += block.macs(inSide: inSide, outSide: side)
            }
        }
        return macs + pool.macs
    }
}

/// `Bottleneck` (expansion 4): 1x1 → 3x3 → [2x2 average pool] → 1x1, plus an identity or an
/// average-pooled 1x1 projection, then ReLU.
struct CLIPBottleneck {
    let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d
    let downsample: Conv2d?
    let stride: Int

    init(_ w: WeightStore, inplanes: Int, planes: Int, stride: Int, eps: Float) throws {
        precondition(stride == 1 || stride == 2, "CLIP bottlenecks pool by 1 or 2")
        conv1 = try Conv2d(w, conv: "conv1", batchNorm: "bn1", inChannels: inplanes, outChannels: planes, kernel: 1, eps: eps)
        conv2 = try Conv2d(w, conv: "conv2", batchNorm: "bn2", inChannels: planes, outChannels: planes, kernel: 3, padding: 1, eps: eps)
        conv3 = try Conv2d(w, conv: "conv3", batchNorm: "bn3", inChannels: planes, outChannels: planes * 4, kernel: 1, eps: eps)
        downsample = (stride > 1 || inplanes != planes * 4)
            ? try Conv2d(w, conv: "downsample.0", batchNorm: "downsample.1", inChannels: inplanes, outChannels: planes * 4, kernel: 1, eps: eps)
            : nil
        self.stride = stride
    }

    func callAsFunction(_ x: Variable) -> Variable {
        var out = Ops.relu(conv2(Ops.relu(conv1(x))))
        if stride > 1 { out = Ops.avgPool2x2(out) }
        out = conv3(out)
        var identity = x
        if let downsample { identity = downsample(stride > 1 ? Ops.avgPool2x2(x) : x) }
        return Ops.relu(out + identity)
    }

    func macs(inSide: Int, outSide: Int) -> Int {
        conv1.forwardMACs(outputSide: inSide) + conv2.forwardMACs(outputSide: inSide) + conv3.forwardMACs(outputSide: outSide)
            + (downsample?.forwardMACs(outputSide: outSide) ?? 0)
    }
}

/// `AttentionPool2d`: the spatial tokens plus their mean (first), with a positional embedding; the mean
/// token alone queries all tokens through multi-head attention with separate q/k/v projections, then `c_proj`.
struct CLIPAttentionPool {
    let positionalEmbedding: Tensor
    let qProj: Linear, kProj: Linear, vProj: Linear, cProj: Linear
    let heads: Int, width: Int, tokens: Int, outDim: Int

    init(_ w: WeightStore, spatial: Int, width: Int, heads: Int, outDim: Int) throws {
        tokens = spatial * spatial + 1
        positionalEmbedding = try w.tensor("positional_embedding", shape: [tokens, width])
        qProj = try Linear(w.scoped("q_proj"), inFeatures: width, outFeatures: width)
        kProj = try Linear(w.scoped("k_proj"), inFeatures: width, outFeatures: width)
        vProj = try Linear(w.scoped("v_proj"), inFeatures: width, outFeatures: width)
        cProj = try Linear(w.scoped("c_proj"), inFeatures: width, outFeatures: outDim)
        self.heads = heads
        self.width = width
        self.outDim = outDim
    }

    /// `[B, C, s, s]` → `[B, outDim]`.
    func callAsFunction(_ x: Variable) -> Variable {
        let batch = x.shape[0]
        let spatialTokens = Ops.transpose(Ops.reshape(x, [batch, width, x.shape[2] * x.shape[3]]), 1, 2)
        let mean = Ops.reshape(Ops.mean(spatialTokens, axis: 1), [batch, 1, width])
        let seq = Ops.concat([mean, spatialTokens], axis: 1) + Variable(positionalEmbedding.reshaped([1, tokens, width]))
        let attended = Ops.attention(query: qProj(Ops.slice(seq, axis: 1, 0..<1)), key: kProj(seq), value: vProj(seq), heads: heads)
        return Ops.reshape(cProj(attended), [batch, outDim])
    }

    var macs: Int { width * width + 2 * tokens * width * width + 2 * tokens * width + width * outDim }
}
