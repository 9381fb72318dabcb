import Engine

/// OpenAI's ADM U-Net (guided-diffusion `UNetModel`), read by the Engine (``UNetArchitecture``); a
/// catalogue model when the checkpoint is exactly one of the Engine's built-in configurations.
struct UNetShapeRecogniser: ArchitectureRecogniser {
    func recognise(_ archive: any TensorArchive) -> RecognisedArchitecture? {
        guard let a = UNetArchitecture(archive) else { return nil }
        let config: [(name: String, value: ConfigValue)] = [
            ("model_channels", .int(a.modelChannels)),
            ("in_channels", .int(a.inChannels)),
            ("out_channels", .int(a.outChannels)),
            ("num_res_blocks", .int(a.numResBlocks)),
            ("channel_mult", .ints(a.channelMult)),
            ("attention_resolutions", .ints(a.attentionResolutions)),
            ("num_classes", a.numClasses.map { .int($0) } ?? .none),
            ("use_scale_shift_norm", .bool(a.useScaleShiftNorm)),
            ("resblock_updown", .bool(a.resblockUpdown)),
        ]
        let known: (variant: String, identifier: String)?
        switch UNetConfig.recognise(from: archive) {
        case UNetConfig.imageNet256Unconditional: known = ("ImageNet 256x256 unconditional", "adm-256-uncond")
        case UNetConfig.ffhq256: known = ("FFHQ 256x256", "adm-ffhq-256")
        default: known = nil
        }
        return RecognisedArchitecture(family: "ADM U-Net", variant: known?.variant, identifier: known?.identifier ?? "adm-unet", config: config)
    }
}
