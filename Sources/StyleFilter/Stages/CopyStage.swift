import VipsBridge

/// `copy`: no change to the pixels; transcodes (output format, `--strip`) and normalises orientation.
public struct CopyStage: Stage {
    public init() {}

    public var name: String { "copy" }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage { image }
}
