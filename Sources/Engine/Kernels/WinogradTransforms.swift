/// The two Winograd forms F(m x m, 3x3) and their transforms (WinogradConvolution.swift runs them).
///
/// F(2x2, 3x3) has the constants 0, ±1 and ±1/2, exact in binary: its relative L2 error against a float64 sum is
/// the direct form's (2-4e-7 at the U-Net's sizes). F(4x4, 3x3) interpolates at 0, ±1, ±2 and ∞: its weight
/// transform divides by 6, 12 and 24 and its output transform multiplies by up to 8, so its error is about 5x
/// larger (7-9e-7 in KernelTests) and it needs 36/9 of the weights' memory, against 36/16 of the pixels' work.
enum WinogradTile: Int, Sendable {
    /// F(2x2, 3x3): 4x4 input tiles, 16 products.
    case two = 2
    /// F(4x4, 3x3): 6x6 input tiles, 36 products.
    case four = 4

    /// Output pixels along a tile's side (m).
    var outputSize: Int { rawValue }
    /// Input pixels along a tile's side (m + 2).
    var inputSize: Int { rawValue + 2 }
    /// Products (transformed positions) per tile.
    var positions: Int { inputSize * inputSize }

    /// Tiles of an output plane.
    func tiles(height: Int, width: Int) -> Int {
        ((height + outputSize - 1) / outputSize) * ((width + outputSize - 1) / outputSize)
    }

    /// Fewest tiles for either form: F(2x2) from 32x32 up, F(4x4) from 64x64. Below that the products are too
    /// short for the transformed weights they re-read (`positions x Cout x Cin`) and the per-call weight
    /// transform stops paying off (measured on 2 Zen 2 cores, BENCHMARKS.md: F(4x4) at 32x32 0.95-1.05x F(2x2)).
    var minimumTiles: Int { 256 }

    /// `U_e = (G g Gᵀ)_e` for every channel pair, stored `[positions][rows][columns]`: for the forward pass rows
    /// are the output channels and `g = weight[row][column]`; transposed and flipped, rows are the input
    /// channels and `g[ky][kx] = weight[column][row][2 - ky][2 - kx]`.
    func transformWeight(
        _ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, transposedAndFlipped: Bool, into u: UnsafeMutablePointer<Float>
    ) {
        switch self {
        case .two: Self.transformWeight(F2x2.self, weight, outChannels: outChannels, inChannels: inChannels, transposedAndFlipped: transposedAndFlipped, into: u)
        case .four: Self.transformWeight(F4x4.self, weight, outChannels: outChannels, inChannels: inChannels, transposedAndFlipped: transposedAndFlipped, into: u)
        }
    }

    /// `Bᵀ d B` of one channel's input tiles (rows `m·ty-1 ..< m·ty+m+1`, likewise the columns, zero outside
    /// the plane) for the tile rows given, written to `v[e * stride + tile]`.
    func transformInput(
        _ plane: UnsafePointer<Float>, height: Int, width: Int, tileRows: Range<Int>, into v: UnsafeMutablePointer<Float>, stride: Int
    ) {
        switch self {
        case .two: Self.transformInput(F2x2.self, plane, height: height, width: width, tileRows: tileRows, into: v, stride: stride)
        case .four: Self.transformInput(F4x4.self, plane, height: height, width: width, tileRows: tileRows, into: v, stride: stride)
        }
    }

    /// `Aᵀ M A + bias` of one channel's tiles (`m[e * stride + tile]`) into its output plane, cropping the
    /// tiles past the plane's edges.
    func transformOutput(
        _ m: UnsafePointer<Float>, stride: Int, bias: Float, tileRows: Range<Int>, tileColumns: Int,
        into plane: UnsafeMutablePointer<Float>, height: Int, width: Int
    ) {
        switch self {
        case .two: Self.transformOutput(F2x2.self, m, stride: stride, bias: bias, tileRows: tileRows, tileColumns: tileColumns, into: plane, height: height, width: width)
        case .four: Self.transformOutput(F4x4.self, m, stride: stride, bias: bias, tileRows: tileRows, tileColumns: tileColumns, into: plane, height: height, width: width)
        }
    }
}

/// Values the transforms run on: one float, or eight tiles' floats at once.
protocol WinogradLanes {
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Float, rhs: Self) -> Self
}
extension Float: WinogradLanes {}
extension SIMD8: WinogradLanes where Scalar == Float {}

/// One form's three matrices, each applied to one line of values (`n = m + 2`; element i at `x[i * stride]`, likewise
/// the result): G (3 to n), Bᵀ (n to n), Aᵀ (n to m). A tile's transform applies them along both axes.
protocol WinogradForm {
    static var outputSize: Int { get }
    static func g<T: WinogradLanes>(_ k: UnsafePointer<T>, _ kStride: Int, into u: UnsafeMutablePointer<T>, _ uStride: Int)
    static func bt<T: WinogradLanes>(_ d: UnsafePointer<T>, _ dStride: Int, into v: UnsafeMutablePointer<T>, _ vStride: Int)
    static func at<T: WinogradLanes>(_ x: UnsafePointer<T>, _ xStride: Int, into y: UnsafeMutablePointer<T>, _ yStride: Int)
}

/// F(2x2, 3x3): G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]], Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]],
/// Aᵀ = [[1,1,1,0],[0,1,-1,-1]].
enum F2x2: WinogradForm {
    static var outputSize: Int { 2 }
    @inline(__always) static func g<T: WinogradLanes>(_ k: UnsafePointer<T>, _ ks: Int, into u: UnsafeMutablePointer<T>, _ us: Int) {
        let (k0, k1, k2) = (k[0], k[ks], k[2 * ks])
        u[0] = k0
        u[us] = 0.5 * (k0 + k1 + k2)
        u[2 * us] = 0.5 * (k0 - k1 + k2)
        u[3 * us] = k2
    }
    @inline(__always) static func bt<T: WinogradLanes>(_ d: UnsafePointer<T>, _ ds: Int, into v: UnsafeMutablePointer<T>, _ vs: Int) {
        let (d0, d1, d2, d3) = (d[0], d[ds], d[2 * ds], d[3 * ds])
        v[0] = d0 - d2
        v[vs] = d1 + d2
        v[2 * vs] = d2 - d1
        v[3 * vs] = d1 - d3
    }
    @inline(__always) static func at<T: WinogradLanes>(_ x: UnsafePointer<T>, _ xs: Int, into y: UnsafeMutablePointer<T>, _ ys: Int) {
        let (x0, x1, x2, x3) = (x[0], x[xs], x[2 * xs], x[3 * xs])
        y[0] = x0 + x1 + x2
        y[ys] = x1 - x2 - x3
    }
}

/// F(4x4, 3x3) at the points 0, ±1, ±2, ∞ (Lavin & Gray's matrices), factored:
/// G = [[¼,0,0],[-⅙,-⅙,-⅙],[-⅙,⅙,-⅙],[1/24,1/12,⅙],[1/24,-1/12,⅙],[0,0,1]],
/// Bᵀ = [[4,0,-5,0,1,0],[0,-4,-4,1,1,0],[0,4,-4,-1,1,0],[0,-2,-1,2,1,0],[0,2,-1,-2,1,0],[0,4,0,-5,0,1]],
/// Aᵀ = [[1,1,1,1,1,0],[0,1,-1,2,-2,0],[0,1,1,4,4,0],[0,1,-1,8,-8,1]].
enum F4x4: WinogradForm {
    static var outputSize: Int { 4 }
    @inline(__always) static func g<T: WinogradLanes>(_ k: UnsafePointer<T>, _ ks: Int, into u: UnsafeMutablePointer<T>, _ us: Int) {
        let (k0, k1, k2) = (k[0], k[ks], k[2 * ks])
        let outer = k0 + k2, quarterPlusLast = 0.25 * k0 + k2, halfMiddle = 0.5 * k1
        u[0] = 0.25 * k0
        u[us] = (-1 / 6) * (outer + k1)
        u[2 * us] = (-1 / 6) * (outer - k1)
        u[3 * us] = (1 / 6) * (quarterPlusLast + halfMiddle)
        u[4 * us] = (1 / 6) * (quarterPlusLast - halfMiddle)
        u[5 * us] = k2
    }
    @inline(__always) static func bt<T: WinogradLanes>(_ d: UnsafePointer<T>, _ ds: Int, into v: UnsafeMutablePointer<T>, _ vs: Int) {
        let (d0, d1, d2, d3, d4, d5) = (d[0], d[ds], d[2 * ds], d[3 * ds], d[4 * ds], d[5 * ds])
        let d42 = d4 - d2, d31 = d3 - d1
        v[0] = 4 * (d0 - d2) + d42
        v[vs] = (d3 + d4) - 4 * (d1 + d2)
        v[2 * vs] = (d4 - d3) + 4 * (d1 - d2)
        v[3 * vs] = d42 + 2 * d31
        v[4 * vs] = d42 - 2 * d31
        v[5 * vs] = 4 * (d1 - d3) + (d5 - d3)
    }
    @inline(__always) static func at<T: WinogradLanes>(_ x: UnsafePointer<T>, _ xs: Int, into y: UnsafeMutablePointer<T>, _ ys: Int) {
        let (x0, x1, x2, x3, x4, x5) = (x[0], x[xs], x[2 * xs], x[3 * xs], x[4 * xs], x[5 * xs])
        let sum12 = x1 + x2, difference12 = x1 - x2, sum34 = x3 + x4, difference34 = x3 - x4
        y[0] = x0 + sum12 + sum34
        y[ys] = difference12 + 2 * difference34
        y[2 * ys] = sum12 + 4 * sum34
        y[3 * ys] = difference12 + 8 * difference34 + x5
    }
}

extension WinogradTile {
    @inline(__always) private static func transformWeight<F: WinogradForm>(
        _ form: F.Type, _ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, transposedAndFlipped: Bool,
        into u: UnsafeMutablePointer<Float>
    ) {
        let n = F.outputSize + 2
        let (rows, columns) = transposedAndFlipped ? (inChannels, outChannels) : (outChannels, inChannels)
        let matrix = rows * columns
        let src = UncheckedSendable(weight), dst = UncheckedSendable(u)
        // A row's n² runs go through a small buffer first: written straight, the n² stores of each channel
        // pair land `matrix` floats apart, in one cache set at the U-Net's power-of-two sizes.
        let runStride = columns + 16
        Parallel.forEach(rows, grain: max(1, 4096 / max(1, columns))) { row in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n * n * runStride + 9 + 3 * n) { buffer in
                let runs = buffer.baseAddress!, k = runs + n * n * runStride, gk = k + 9
                for column in 0..<columns {
                    // k[ky][kx], flipped in both axes for the gradient.
                    if transposedAndFlipped {
                        let w = src.value + (column * inChannels + row) * 9
                        for i in 0..<9 { k[i] = w[8 - i] }
                    } else {
                        k.update(from: src.value + (row * inChannels + column) * 9, count: 9)
                    }
                    // G over ky (each kx: gk[i][kx]), then over kx (each row of G k).
                    F.g(k, 3, into: gk, 3)
                    F.g(k + 1, 3, into: gk + 1, 3)
                    F.g(k + 2, 3, into: gk + 2, 3)
                    for i in 0..<n { F.g(gk + 3 * i, 1, into: runs + n * i * runStride + column, runStride) }
                }
                for e in 0..<(n * n) { (dst.value + e * matrix + row * columns).update(from: runs + e * runStride, count: columns) }
            }
        }
    }

    @inline(__always) private static func transformInput<F: WinogradForm>(
        _ form: F.Type, _ plane: UnsafePointer<Float>, height: Int, width: Int, tileRows: Range<Int>,
        into v: UnsafeMutablePointer<Float>, stride: Int
    ) {
        let m = F.outputSize, n = m + 2
        let tileColumns = (width + m - 1) / m
        // Padded rows: column q holds input column q - 1; q = 0 and q > width are zero.
        let paddedWidth = m * tileColumns + 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n * paddedWidth) { buffer in
            let rows = buffer.baseAddress!, c = rows + n * paddedWidth
            for ty in tileRows {
                for i in 0..<n {
                    let row = rows + i * paddedWidth
                    let y = m * ty - 1 + i
                    row.update(repeating: 0, count: paddedWidth)
                    if y >= 0 && y < height { (row + 1).update(from: plane + y * width, count: width) }
                }
                // Bᵀ over the rows (whole padded lines), then over the columns of each tile.
                for q in 0..<paddedWidth { F.bt(rows + q, paddedWidth, into: c + q, paddedWidth) }
                let out = v + (ty - tileRows.lowerBound) * tileColumns
                for i in 0..<n {
                    let line = c + i * paddedWidth, lineOut = out + n * i * stride
                    for tx in 0..<tileColumns { F.bt(line + m * tx, 1, into: lineOut + tx, stride) }
                }
            }
        }
    }

    @inline(__always) private static func transformOutput<F: WinogradForm>(
        _ form: F.Type, _ mt: UnsafePointer<Float>, stride: Int, bias: Float, tileRows: Range<Int>, tileColumns: Int,
        into plane: UnsafeMutablePointer<Float>, height: Int, width: Int
    ) {
        let m = F.outputSize, n = m + 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: m * m * tileColumns) { buffer in
            let outRows = buffer.baseAddress!
            // x: a tile's column or row; s: Aᵀ over the tile's rows (m x n); y: one output row.
            withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: n + m * n + m) { lanes in
                let x = lanes.baseAddress!, s = x + n, y = s + m * n
                for ty in tileRows {
                    let t = mt + (ty - tileRows.lowerBound) * tileColumns
                    // Eight tiles at a time, one per lane; the last few broadcast one tile and keep lane 0.
                    var tx = 0
                    while tx < tileColumns {
                        let count = min(8, tileColumns - tx)
                        func load(_ e: Int) -> SIMD8<Float> {
                            count == 8 ? UnsafeRawPointer(t + e * stride + tx).loadUnaligned(as: SIMD8<Float>.self)
                                : SIMD8(repeating: t[e * stride + tx])
                        }
                        for j in 0..<n {
                            for i in 0..<n { x[i] = load(n * i + j) }
                            F.at(x, 1, into: s + j, n)
                        }
                        let lanesUsed = count == 8 ? 8 : 1
                        for r in 0..<m {
                            F.at(s + r * n, 1, into: y, 1)
                            let row = outRows + r * m * tileColumns + m * tx
                            for lane in 0..<lanesUsed {
                                for column in 0..<m { row[m * lane + column] = y[column][lane] + bias }
                            }
                        }
                        tx += lanesUsed
                    }
                    for r in 0..<m where m * ty + r < height {
                        (plane + (m * ty + r) * width).update(from: outRows + r * m * tileColumns, count: width)
                    }
                }
            }
        }
    }
}
