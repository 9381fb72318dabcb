/// Element-wise loops over [B, …] tensors whose per-sample coefficients depend on the batch index.
///
/// The diffusion formulas are a handful of multiply-adds per element, negligible next to the U-Net,
/// so plain loops suffice and keep this folder independent of the op library.
enum BatchedElementwise {
    /// `body(b, a[b, i])` for every element of `a`.
    static func map(_ a: Tensor, batch: Int, _ body: (Int, Float) -> Float) -> Tensor {
        var out = Tensor(uninitializedShape: a.shape)
        let per = a.count / max(batch, 1)
        a.withUnsafeBufferPointer { pa in
            out.withUnsafeMutableBufferPointer { po in
                for b in 0..<batch {
                    for i in b * per..<(b + 1) * per { po[i] = body(b, pa[i]) }
                }
            }
        }
        return out
    }

    /// `body(b, a[b, i], c[b, i])` for every element; `a` and `c` have the same shape.
    static func map(_ a: Tensor, _ c: Tensor, batch: Int, _ body: (Int, Float, Float) -> Float) -> Tensor {
        precondition(a.shape == c.shape, "shape \(a.shape) vs \(c.shape)")
        var out = Tensor(uninitializedShape: a.shape)
        let per = a.count / max(batch, 1)
        a.withUnsafeBufferPointer { pa in
            c.withUnsafeBufferPointer { pc in
                out.withUnsafeMutableBufferPointer { po in
                    for b in 0..<batch {
                        for i in b * per..<(b + 1) * per { po[i] = body(b, pa[i], pc[i]) }
                    }
                }
            }
        }
        return out
    }

    /// `body(b, a[b, i], c[b, i], d[b, i])` for every element; all three have the same shape.
    static func map(_ a: Tensor, _ c: Tensor, _ d: Tensor, batch: Int, _ body: (Int, Float, Float, Float) -> Float) -> Tensor {
        precondition(a.shape == c.shape && a.shape == d.shape, "shapes \(a.shape), \(c.shape), \(d.shape)")
        var out = Tensor(uninitializedShape: a.shape)
        let per = a.count / max(batch, 1)
        a.withUnsafeBufferPointer { pa in
            c.withUnsafeBufferPointer { pc in
                d.withUnsafeBufferPointer { pd in
                    out.withUnsafeMutableBufferPointer { po in
                        for b in 0..<batch {
                            for i in b * per..<(b + 1) * per { po[i] = body(b, pa[i], pc[i], pd[i]) }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Channels `first..<first+channels` of an [B, C', …] tensor, as a new [B, channels, …] tensor.
    static func channels(_ t: Tensor, first: Int, count channels: Int) -> Tensor {
        let batch = t.shape[0], total = t.shape[1]
        let plane = t.shape.dropFirst(2).reduce(1, *)
        var shape = t.shape
        shape[1] = channels
        var out = Tensor(uninitializedShape: shape)
        t.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for b in 0..<batch {
                    let from = src.baseAddress! + (b * total + first) * plane
                    (dst.baseAddress! + b * channels * plane).update(from: from, count: channels * plane)
                }
            }
        }
        return out
    }
}
