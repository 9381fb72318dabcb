/// CLIP's text tower (`CLIP.encode_text`): token and positional embeddings, causally masked residual
/// attention blocks, `ln_final`, the features at each sequence's end-of-text token (its largest id),
/// then `@ text_projection`. Text never needs gradients here, so everything runs as constants.
final class CLIPTextTransformer: @unchecked Sendable {
    let config: CLIPConfig.Text
    let tokenEmbedding: Tensor, positionalEmbedding: Tensor
    let blocks: [PreNormTransformerBlock]
    let lnFinal: LayerNorm
    /// `[width, embedDim]`, right-multiplied (`x @ text_projection`), so not a `Linear`.
    let textProjection: Tensor

    init(_ w: WeightStore, config c: CLIPConfig.Text, embedDim: Int, eps: Float) throws {
        config = c
        tokenEmbedding = try w.tensor("token_embedding.weight", shape: [c.vocabSize, c.width])
        positionalEmbedding = try w.tensor("positional_embedding", shape: [c.contextLength, c.width])
        blocks = try (0..<c.layers).map { i in
            try PreNormTransformerBlock(
                w.scoped("transformer.resblocks.\(i)"), names: .clip, width: c.width, hidden: 4 * c.width, heads: c.heads,
                eps: eps, activation: .quickGELU)
        }
        lnFinal = try LayerNorm(w.scoped("ln_final"), width: c.width, eps: eps)
        textProjection = try w.tensor("text_projection", shape: [c.width, embedDim])
    }

    /// Rows of `contextLength` token ids → `[B, embedDim]`.
    func encode(_ tokens: [[Int32]]) throws -> Tensor {
        let (ctx, width) = (config.contextLength, config.width)
        guard !tokens.isEmpty else { throw CLIPError.badInput("no token sequences") }
        let embedded = Tensor(uninitializedShape: [tokens.count, ctx, width])
        var pooled: [Int] = []
        let table = tokenEmbedding.readPointer, pos = positionalEmbedding.readPointer, dst = embedded.mutablePointer
        for (b, row) in tokens.enumerated() {
            guard row.count == ctx else { throw CLIPError.badInput("token row \(b) has \(row.count) ids, expected \(ctx)") }
            for (t, id) in row.enumerated() {
                guard id >= 0 && Int(id) < config.vocabSize else { throw CLIPError.badInput("token id \(id) outside the vocabulary of \(config.vocabSize)") }
                let out = dst + (b * ctx + t) * width, e = table + Int(id) * width, p = pos + t * width
                for c in 0..<width { out[c] = e[c] + p[c] }
            }
            // torch.argmax returns the first maximal position.
            pooled.append(row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!)
        }
        withExtendedLifetime((tokenEmbedding, positionalEmbedding)) {}
        var x = Variable(embedded)
        for block in blocks { x = block(x, causal: true).output }
        let rows = pooled.enumerated().map { b, t in Ops.slice(Ops.slice(x, axis: 0, b..<(b + 1)), axis: 1, t..<(t + 1)) }
        let selected = Ops.reshape(Ops.concat(rows, axis: 0), [tokens.count, width])
        return Ops.matmul(lnFinal(selected), Variable(textProjection)).value
    }
}
