/// OpenAI's ADM U-Net (guided-diffusion `UNetModel`), from its state-dict names (spec A.7):
/// `time_embed.0`, `input_blocks.{i}.{j}`, `middle_block`, `output_blocks`, `out.2`.
struct UNetShapeRecogniser: ArchitectureRecogniser {
    func recognise(_ t: TensorIndex) -> RecognisedArchitecture? {
        guard let time = t.shape("time_embed.0.weight"), time.count == 2,
            let first = t.shape("input_blocks.0.0.weight"), first.count == 4,
            let out = t.shape("out.2.weight"), out.count == 4
        else { return nil }
        let channels = first[0]
        let inputs = t.indices(after: "input_blocks.")
        let outputs = t.indices(after: "output_blocks.")
        guard channels > 0, let lastInput = inputs.last, let lastOutput = outputs.last else { return nil }
        // An output block ends a level (except the last) with an upsampling layer: a second ResBlock
        // (resblock_updown) or an `Upsample` conv, at child 1 or at child 2 after an attention block.
        var upsampling = 0
        var updownResBlocks = true
        for j in outputs {
            for child in [1, 2] {
                let prefix = "output_blocks.\(j).\(child)."
                if t.has(prefix + "in_layers.0.weight") {
                    upsampling += 1
                } else if t.has(prefix + "conv.weight") {
                    upsampling += 1
                    updownResBlocks = false
                }
            }
        }
        let levels = upsampling + 1
        let outputCount = lastOutput + 1
        guard outputCount % levels == 0 else { return nil }
        let resBlocks = outputCount / levels - 1
        guard resBlocks >= 1, lastInput + 1 == 1 + levels * resBlocks + (levels - 1) else { return nil }
        var mult: [Int] = []
        var attention: [Int] = []
        for level in 0..<levels {
            let start = 1 + level * (resBlocks + 1)
            guard let conv = t.shape("input_blocks.\(start).0.out_layers.3.weight") else { return nil }
            mult.append(conv[0] / channels)
            for r in 0..<resBlocks where t.has("input_blocks.\(start + r).1.qkv.weight") {
                attention.append(1 << level)
                break
            }
        }
        let scaleShift = t.shape("input_blocks.1.0.emb_layers.1.weight").map { $0[0] == 2 * channels * mult[0] } ?? false
        let classes = t.shape("label_emb.weight")?.first
        let config: [(name: String, value: ConfigValue)] = [
            ("model_channels", .int(channels)),
            ("in_channels", .int(first[1])),
            ("out_channels", .int(out[0])),
            ("num_res_blocks", .int(resBlocks)),
            ("channel_mult", .ints(mult)),
            ("attention_resolutions", .ints(attention)),
            ("num_classes", classes.map { .int($0) } ?? .none),
            ("use_scale_shift_norm", .bool(scaleShift)),
            ("resblock_updown", .bool(updownResBlocks)),
        ]
        let known: (variant: String, identifier: String)?
        let common = mult == [1, 1, 2, 2, 4, 4] && out[0] == 6 && classes == nil && first[1] == 3
        switch (channels, resBlocks, attention) {
        case (256, 2, [8, 16, 32]) where common: known = ("ImageNet 256x256 unconditional", "adm-256-uncond")
        case (128, 1, [16]) where common: known = ("FFHQ 256x256", "adm-ffhq-256")
        default: known = nil
        }
        return RecognisedArchitecture(
            family: "ADM U-Net", variant: known?.variant, identifier: known?.identifier ?? "adm-unet", config: config)
    }
}
