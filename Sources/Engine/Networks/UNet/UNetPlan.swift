/// The block structure `UNetModel.__init__` builds from a config: every layer with its
/// state-dict prefix and channel counts. Used to build the model and to list its parameters.
struct UNetPlan {
    enum Resample: Equatable { case none, up, down }

    enum Layer: Equatable {
        /// A 3x3 convolution (the first input block).
        case conv(prefix: String, cin: Int, cout: Int)
        case res(prefix: String, cin: Int, cout: Int, resample: Resample)
        case attention(prefix: String, channels: Int, heads: Int)
        /// Non-ResBlock downsampling: stride-2 conv (`op`) or 2x2 average pooling.
        case downsample(prefix: String, channels: Int, useConv: Bool)
        /// Non-ResBlock upsampling: nearest 2x, then a 3x3 conv (`conv`) when `useConv`.
        case upsample(prefix: String, channels: Int, useConv: Bool)
    }

    var inputBlocks: [[Layer]] = []
    var middleBlock: [Layer] = []
    var outputBlocks: [[Layer]] = []
    /// Channels entering the output head.
    var finalChannels = 0

    init(_ c: UNetConfig) {
        func heads(_ ch: Int, upsampling: Bool) -> Int {
            if c.numHeadChannels != -1 { return ch / c.numHeadChannels }
            return upsampling && c.numHeadsUpsample != -1 ? c.numHeadsUpsample : c.numHeads
        }
        let attention = Set(c.attentionResolutions)
        var ch = c.channelMult[0] * c.modelChannels
        inputBlocks.append([.conv(prefix: "input_blocks.0.0", cin: c.inChannels, cout: ch)])
        var chans = [ch]
        var ds = 1
        for (level, mult) in c.channelMult.enumerated() {
            for _ in 0..<c.numResBlocks {
                let i = inputBlocks.count
                var layers: [Layer] = [.res(prefix: "input_blocks.\(i).0", cin: ch, cout: mult * c.modelChannels, resample: .none)]
                ch = mult * c.modelChannels
                if attention.contains(ds) { layers.append(.attention(prefix: "input_blocks.\(i).1", channels: ch, heads: heads(ch, upsampling: false))) }
                inputBlocks.append(layers)
                chans.append(ch)
            }
            if level != c.channelMult.count - 1 {
                let i = inputBlocks.count
                inputBlocks.append([c.resblockUpdown
                    ? .res(prefix: "input_blocks.\(i).0", cin: ch, cout: ch, resample: .down)
                    : .downsample(prefix: "input_blocks.\(i).0", channels: ch, useConv: c.convResample)])
                chans.append(ch)
                ds *= 2
            }
        }
        middleBlock = [
            .res(prefix: "middle_block.0", cin: ch, cout: ch, resample: .none),
            .attention(prefix: "middle_block.1", channels: ch, heads: heads(ch, upsampling: false)),
            .res(prefix: "middle_block.2", cin: ch, cout: ch, resample: .none),
        ]
        for (level, mult) in c.channelMult.enumerated().reversed() {
            for i in 0...c.numResBlocks {
                let j = outputBlocks.count
                let skip = chans.removeLast()
                var layers: [Layer] = [.res(prefix: "output_blocks.\(j).0", cin: ch + skip, cout: mult * c.modelChannels, resample: .none)]
                ch = mult * c.modelChannels
                if attention.contains(ds) {
                    layers.append(.attention(prefix: "output_blocks.\(j).\(layers.count)", channels: ch, heads: heads(ch, upsampling: true)))
                }
                if level > 0 && i == c.numResBlocks {
                    let prefix = "output_blocks.\(j).\(layers.count)"
                    layers.append(c.resblockUpdown
                        ? .res(prefix: prefix, cin: ch, cout: ch, resample: .up)
                        : .upsample(prefix: prefix, channels: ch, useConv: c.convResample))
                    ds /= 2
                }
                outputBlocks.append(layers)
            }
        }
        finalChannels = ch
    }
}

extension UNetConfig {
    /// Every parameter of the model as (state-dict name, shape), in construction order.
    public func parameterShapes() -> [(name: String, shape: [Int])] {
        let plan = UNetPlan(self)
        let mc = modelChannels, e = 4 * modelChannels
        var out: [(String, [Int])] = [
            ("time_embed.0.weight", [e, mc]), ("time_embed.0.bias", [e]),
            ("time_embed.2.weight", [e, e]), ("time_embed.2.bias", [e]),
        ]
        func add(_ layer: UNetPlan.Layer) {
            switch layer {
            case .conv(let p, let cin, let cout):
                out += [("\(p).weight", [cout, cin, 3, 3]), ("\(p).bias", [cout])]
            case .res(let p, let cin, let cout, _):
                out += [
                    ("\(p).in_layers.0.weight", [cin]), ("\(p).in_layers.0.bias", [cin]),
                    ("\(p).in_layers.2.weight", [cout, cin, 3, 3]), ("\(p).in_layers.2.bias", [cout]),
                    ("\(p).emb_layers.1.weight", [useScaleShiftNorm ? 2 * cout : cout, e]),
                    ("\(p).emb_layers.1.bias", [useScaleShiftNorm ? 2 * cout : cout]),
                    ("\(p).out_layers.0.weight", [cout]), ("\(p).out_layers.0.bias", [cout]),
                    ("\(p).out_layers.3.weight", [cout, cout, 3, 3]), ("\(p).out_layers.3.bias", [cout]),
                ]
                if cin != cout { out += [("\(p).skip_connection.weight", [cout, cin, 1, 1]), ("\(p).skip_connection.bias", [cout])] }
            case .attention(let p, let ch, _):
                out += [
                    ("\(p).norm.weight", [ch]), ("\(p).norm.bias", [ch]),
                    ("\(p).qkv.weight", [3 * ch, ch, 1]), ("\(p).qkv.bias", [3 * ch]),
                    ("\(p).proj_out.weight", [ch, ch, 1]), ("\(p).proj_out.bias", [ch]),
                ]
            case .downsample(let p, let ch, let useConv):
                if useConv { out += [("\(p).op.weight", [ch, ch, 3, 3]), ("\(p).op.bias", [ch])] }
            case .upsample(let p, let ch, let useConv):
                if useConv { out += [("\(p).conv.weight", [ch, ch, 3, 3]), ("\(p).conv.bias", [ch])] }
            }
        }
        for block in plan.inputBlocks { block.forEach(add) }
        plan.middleBlock.forEach(add)
        for block in plan.outputBlocks { block.forEach(add) }
        let fc = plan.finalChannels
        out += [("out.0.weight", [fc]), ("out.0.bias", [fc]), ("out.2.weight", [outChannels, fc, 3, 3]), ("out.2.bias", [outChannels])]
        return out.map { (name: $0.0, shape: $0.1) }
    }
}
