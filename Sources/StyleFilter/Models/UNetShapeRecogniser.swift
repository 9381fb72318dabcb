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
        let known = UNetConfig.recognise(from: archive).flatMap { config in Self.known.first { $0.config == config } }
        return RecognisedArchitecture(family: "ADM U-Net", variant: known?.variant, identifier: known?.identifier ?? "adm-unet", config: config)
    }

    /// The Engine's built-in configurations under their catalogue names.
    static let known: [(config: UNetConfig, variant: String, identifier: String)] = [
        (.imageNet256Unconditional, "ImageNet 256x256 unconditional", "adm-256-uncond"),
        (.ffhq256, "FFHQ 256x256", "adm-ffhq-256"),
    ]

    /// The catalogue name of a built-in configuration.
    static func identifier(of config: UNetConfig) -> String? { known.first { $0.config == config }?.identifier }
}
