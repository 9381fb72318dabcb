import Engine
import Foundation

/// One random "train" view of FlexIT's CLIP preprocessing, as DiffuseIT draws `aug_num` of them per
/// CLIP model and step: `RandomRotation(10)` (nearest, zero fill), `RandomResizedCrop(n,
/// scale: 0.8…1, ratio: 0.9…1.1)` (bilinear, no antialias), `RandomHorizontalFlip()`; CLIP's
/// normalisation follows. The parameters are injectable so the geometry can be checked against
/// torchvision's exactly; `random(size:using:)` draws them with torchvision's distributions.
package struct CLIPAugmentation: Sendable, Equatable {
    /// Rotation angle in degrees (counter-clockwise, torchvision's convention).
    var angle: Double
    /// Crop of the rotated image: top row, left column, height, width.
    package var crop: (top: Int, left: Int, height: Int, width: Int)
    /// Whether the resized crop is mirrored.
    var flip: Bool

    package init(angle: Double, crop: (top: Int, left: Int, height: Int, width: Int), flip: Bool) {
        self.angle = angle
        self.crop = crop
        self.flip = flip
    }

    package static func == (a: Self, b: Self) -> Bool {
        a.angle == b.angle && a.flip == b.flip && a.crop == b.crop
    }

    /// A view drawn as torchvision draws it for a `size x size` image: angle uniform in [−10, 10],
    /// crop area fraction in [0.8, 1] and log-uniform aspect ratio in [0.9, 1.1] (ten tries, then
    /// the centre crop), flip with probability ½.
    package static func random(size: Int, using rng: inout PhiloxGenerator) -> CLIPAugmentation {
        let angle = -10 + 20 * rng.nextUniformDouble()
        let area = Double(size * size)
        let logRatio = (log(0.9), log(1.1))
        var crop: (Int, Int, Int, Int)? = nil
        for _ in 0..<10 {
            let target = area * (0.8 + 0.2 * rng.nextUniformDouble())
            let aspect = exp(logRatio.0 + (logRatio.1 - logRatio.0) * rng.nextUniformDouble())
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0, w <= size, h > 0, h <= size {
                let top = Int(rng.next() % UInt64(size - h + 1)), left = Int(rng.next() % UInt64(size - w + 1))
                crop = (top, left, h, w)
                break
            }
        }
        let flip = rng.nextUniformDouble() < 0.5
        return CLIPAugmentation(angle: angle, crop: crop ?? (0, 0, size, size), flip: flip)
    }

    /// The view as a plane map from the `size x size` image to `resolution x resolution`.
    package func map(size: Int, resolution: Int) -> SparsePlaneMap {
        var m = CLIPAugmentation.rotation(size: size, degrees: angle)
            .then(.bilinear(inputHeight: size, inputWidth: size, crop: crop, outputHeight: resolution, outputWidth: resolution))
        if flip { m = m.then(.horizontalFlip(height: resolution, width: resolution)) }
        return m
    }

    /// torchvision's tensor `rotate(angle, NEAREST, expand=False, fill=0)` about the image centre:
    /// the inverse affine matrix (float32), `affine_grid`-style base coordinates, `grid_sample`
    /// nearest (round half to even) with zeros outside.
    static func rotation(size: Int, degrees: Double) -> SparsePlaneMap {
        let rad = -degrees * Double.pi / 180
        let cosT = Float(cos(rad)), sinT = Float(sin(rad))
        let half = Float(size) * 0.5
        // rescaled θᵀ: x' = (x cos + y sin) / (w/2), y' = (−x sin + y cos) / (h/2)
        let r00 = cosT / half, r10 = sinT / half, r01 = -sinT / half, r11 = cosT / half
        var indices = [Int32]()
        indices.reserveCapacity(size * size)
        for i in 0..<size {
            let by = -half + 0.5 + Float(i)
            for j in 0..<size {
                let bx = -half + 0.5 + Float(j)
                let gx = bx * r00 + by * r10, gy = bx * r01 + by * r11
                let ix = ((gx + 1) * half - 0.5).rounded(.toNearestOrEven)
                let iy = ((gy + 1) * half - 0.5).rounded(.toNearestOrEven)
                if ix >= 0, ix < Float(size), iy >= 0, iy < Float(size) {
                    indices.append(Int32(Int(iy) * size + Int(ix)))
                } else {
                    indices.append(-1)
                }
            }
        }
        return SparsePlaneMap(inputHeight: size, inputWidth: size, outputHeight: size, outputWidth: size, taps: 1,
            indices: indices, weights: [Float](repeating: 1, count: indices.count))
    }
}
