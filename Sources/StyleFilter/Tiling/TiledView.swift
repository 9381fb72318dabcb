import Engine

/// Antialiased (triangle-filter) resampling of one axis from `length` input pixels to `size` output
/// pixels: output j is the normalised tent-weighted mean of the inputs around its centre
/// c = (j + ½)·L/S, with radius max(L/S, 1). `spread` is the exact transpose scaled by L/S, so a
/// gradient at the view reaches each full-resolution pixel about as strongly as the view pixels it
/// belongs to, and varies linearly between view pixels: a box filter's transpose would paint the
/// gradient in flat blocks of L/S pixels and print that block grid into the image.
struct AreaAxis: Sendable {
    let length: Int, size: Int
    /// Per output j: (first input index, weights summing to 1).
    let forward: [(start: Int, weights: [Float])]
    /// Per input i: (first output index, (L/S)·weights of the transpose).
    let spread: [(start: Int, shares: [Float])]

    init(length: Int, size: Int) {
        self.length = length
        self.size = size
        let scale = Double(length) / Double(size), radius = max(scale, 1)
        var forward: [(Int, [Float])] = []
        var spreadLists = [[(Int, Float)]](repeating: [], count: length)
        for j in 0..<size {
            let centre = (Double(j) + 0.5) * scale
            let first = max(0, Int((centre - radius - 0.5).rounded(.down))), last = min(length - 1, Int((centre + radius - 0.5).rounded(.up)))
            var raw: [Double] = []
            for i in first...max(first, last) { raw.append(max(0, 1 - abs(Double(i) + 0.5 - centre) / radius)) }
            let total = raw.reduce(0, +)
            let weights = raw.map { total > 0 ? $0 / total : 1 / Double(raw.count) }
            for (k, w) in weights.enumerated() where w > 0 { spreadLists[first + k].append((j, Float(w * scale))) }
            forward.append((first, weights.map(Float.init)))
        }
        self.forward = forward
        spread = spreadLists.map { list in
            guard let start = list.first?.0 else { return (0, []) }
            var shares = [Float](repeating: 0, count: list.last!.0 - start + 1)
            for (j, w) in list { shares[j - start] = w }
            return (start, shares)
        }
    }
}

/// The whole-image view the style/text losses of a tiled run see: the image's real (unpadded) region
/// area-averaged to the model's square size, and the spread of a view gradient back onto one tile.
struct TiledView: Sendable {
    let x: AreaAxis, y: AreaAxis
    /// The real image size inside the padded buffer.
    let width: Int, height: Int
    let size: Int

    init(width: Int, height: Int, size: Int) {
        self.width = width
        self.height = height
        self.size = size
        x = AreaAxis(length: width, size: size)
        y = AreaAxis(length: height, size: size)
    }

    /// The `[1, 3, S, S]` view of the top-left `width x height` region of `buffer` (`[1, 3, H, W]`).
    func view(of buffer: Tensor) -> Tensor {
        precondition(buffer.shape[3] >= width && buffer.shape[2] >= height, "view region outside the buffer")
        var builder = Builder(self)
        builder.add(rows: buffer, at: 0)
        return builder.view
    }

    /// Builds the view from rows handed over top to bottom (a run's rows become final in that order),
    /// so the full-resolution image it averages never has to exist at once. Each output sums its
    /// inputs in ascending order, as a direct two-pass resample would.
    struct Builder {
        let geometry: TiledView
        /// Per input row: the view rows it contributes to, with their weights.
        private let rowTargets: [[(row: Int, weight: Float)]]
        /// `[1, 3, S, S]` partial sums.
        private(set) var view: Tensor
        private var line: [Float]

        init(_ geometry: TiledView) {
            self.geometry = geometry
            var targets = [[(row: Int, weight: Float)]](repeating: [], count: geometry.height)
            for (i, f) in geometry.y.forward.enumerated() {
                for (k, w) in f.weights.enumerated() { targets[f.start + k].append((i, w)) }
            }
            rowTargets = targets
            view = Tensor(shape: [1, 3, geometry.size, geometry.size], repeating: 0)
            line = [Float](repeating: 0, count: geometry.size)
        }

        /// Adds `band` (`[1, 3, n, W]`, W at least the real width) holding image rows y0 ..< y0 + n;
        /// rows and columns outside the real image are ignored.
        mutating func add(rows band: Tensor, at y0: Int) {
            let n = band.shape[2], bw = band.shape[3], s = geometry.size
            precondition(bw >= geometry.width, "rows narrower than the image")
            let targets = rowTargets, forward = geometry.x.forward
            band.withUnsafeBufferPointer { src in
                view.withUnsafeMutableBufferPointer { dst in
                    line.withUnsafeMutableBufferPointer { line in
                        for c in 0..<3 {
                            for r in 0..<n where y0 + r < geometry.height {
                                let base = (c * n + r) * bw
                                for j in 0..<s {
                                    let f = forward[j]
                                    var acc: Float = 0
                                    for (k, w) in f.weights.enumerated() { acc += w * src[base + f.start + k] }
                                    line[j] = acc
                                }
                                for (i, w) in targets[y0 + r] {
                                    let d = (c * s + i) * s
                                    for j in 0..<s { dst[d + j] += w * line[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The view gradient `g` (`[1, 3, S, S]`) spread onto the `tile x tile` square at (x0, y0) of the
    /// padded buffer; pixels outside the real image get zero.
    func spread(_ g: Tensor, x x0: Int, y y0: Int, tile t: Int) -> Tensor {
        let s = size
        var out = Tensor(shape: [1, 3, t, t], repeating: 0)
        let cols = min(t, max(0, width - x0)), rowsInside = min(t, max(0, height - y0))
        guard cols > 0 && rowsInside > 0 else { return out }
        g.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var line = [Float](repeating: 0, count: s)
                for c in 0..<3 {
                    for v in 0..<rowsInside {
                        let sy = y.spread[y0 + v]
                        for j in 0..<s { line[j] = 0 }
                        for (k, share) in sy.shares.enumerated() {
                            let base = (c * s + sy.start + k) * s
                            for j in 0..<s { line[j] += share * src[base + j] }
                        }
                        let d = (c * t + v) * t
                        for u in 0..<cols {
                            let sx = x.spread[x0 + u]
                            var acc: Float = 0
                            for (k, share) in sx.shares.enumerated() { acc += share * line[sx.start + k] }
                            dst[d + u] = acc
                        }
                    }
                }
            }
        }
        return out
    }
}
