/// CLIP's image normalisation and the differentiable tensor preprocessing DiffuseIT applies before CLIP
/// (torchvision tensor `Resize` of the shorter side, bilinear without antialiasing, then `CenterCrop`).
public enum CLIPPreprocessing {
    /// `clip/clip.py` `Normalize` mean.
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    /// `clip/clip.py` `Normalize` std.
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// `(x − mean[c]) / std[c]` on `[B, 3, H, W]` images in [0, 1], differentiable.
    public static func normalize(_ image: Variable) -> Variable {
        Ops.normalizeChannels(image, mean: mean, std: std)
    }

    /// DiffuseIT's `test_prep` for images in [0, 1]: shorter side to `resolution`, centre crop to
    /// `resolution × resolution`, normalise. Differentiable.
    public static func prepare(_ image: Variable, resolution: Int) -> Variable {
        normalize(ImagePreprocessing.centerCrop(ImagePreprocessing.resizeShorterSide(image, to: resolution), height: resolution, width: resolution))
    }
}
