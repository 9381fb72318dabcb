/// CLIP's ViT image tower (`VisionTransformer`): patch convolution without bias, class token, positional
/// embedding, `ln_pre`, residual attention blocks, `ln_post` on the class token, then `@ proj`.
final class CLIPVisionTransformer: @unchecked Sendable {
    let resolution: Int, patchSize: Int, width: Int, embedDim: Int
    let conv1: Conv2d
    let classEmbedding: Tensor, positionalEmbedding: Tensor
    let lnPre: LayerNorm
    let blocks: [PreNormTransformerBlock]
    let lnPost: LayerNorm
    /// `[width, embedDim]`, right-multiplied (`x @ proj`), so not a `Linear`.
    let proj: Tensor

    init(_ w: WeightStore, width: Int, layers: Int, heads: Int, patchSize: Int, resolution: Int, embedDim: Int, eps: Float) throws {
        let grid = resolution / patchSize
        self.resolution = resolution
        self.patchSize = patchSize
        self.width = width
        self.embedDim = embedDim
        conv1 = try Conv2d(w.scoped("conv1"), inChannels: 3, outChannels: width, kernel: patchSize, stride: patchSize, bias: false)
        classEmbedding = try w.tensor("class_embedding", shape: [width])
        positionalEmbedding = try w.tensor("positional_embedding", shape: [grid * grid + 1, width])
        lnPre = try LayerNorm(w.scoped("ln_pre"), width: width, eps: eps)
        blocks = try (0..<layers).map { i in
            try PreNormTransformerBlock(
                w.scoped("transformer.resblocks.\(i)"), names: .clip, width: width, hidden: 4 * width, heads: heads,
                eps: eps, activation: .quickGELU)
        }
        lnPost = try LayerNorm(w.scoped("ln_post"), width: width, eps: eps)
        proj = try w.tensor("proj", shape: [width, embedDim])
    }

    /// `[B, 3, R, R]` → `[B, embedDim]`.
    func callAsFunction(_ image: Variable) -> Variable {
        let batch = image.shape[0]
        let patches = conv1(image)
        let n = patches.shape[2] * patches.shape[3]
        let tokens = Ops.transpose(Ops.reshape(patches, [batch, width, n]), 1, 2)
        let cls = Ops.broadcastBinary(classEmbedding, Tensor.zeros([batch, 1, width])) { $0 + $1 }
        var x = Ops.concat([Variable(cls), tokens], axis: 1) + Variable(positionalEmbedding.reshaped([1, n + 1, width]))
        x = lnPre(x)
        for block in blocks { x = block(x).output }
        let first = Ops.reshape(Ops.slice(x, axis: 1, 0..<1), [batch, width])
        return Ops.matmul(lnPost(first), Variable(proj))
    }

    var forwardMACs: Int {
        let n = (resolution / patchSize) * (resolution / patchSize)
        return n * width * 3 * patchSize * patchSize
            + blocks.count * PreNormTransformerBlock.forwardMACs(tokens: n + 1, width: width, hidden: 4 * width) + width * embedDim
    }
}
