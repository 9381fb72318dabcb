#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Ops {
    /// Log-softmax over the last axis (max-shifted, as `torch.log_softmax`).
    public static func logSoftmax(_ x: Variable) -> Variable {
        let d = x.shape.last ?? 1
        let rows = x.value.count / max(d, 1)
        let out = Tensor(uninitializedShape: x.shape)
        let src = x.value.readPointer, dst = out.mutablePointer
        for r in 0..<rows {
            let row = src + r * d
            var m = -Float.infinity
            for j in 0..<d { m = max(m, row[j]) }
            var s: Float = 0
            for j in 0..<d { s += expf(row[j] - m) }
            let lse = m + logf(s)
            for j in 0..<d { dst[r * d + j] = row[j] - lse }
        }
        withExtendedLifetime(x) {}
        return Variable.make(out, [x]) { dy in
            // dx = g − softmax · Σg
            let dx = Tensor(uninitializedShape: out.shape)
            let y = out.readPointer, g = dy.readPointer, o = dx.mutablePointer
            for r in 0..<rows {
                var s: Float = 0
                for j in 0..<d { s += g[r * d + j] }
                for j in 0..<d { o[r * d + j] = g[r * d + j] - expf(y[r * d + j]) * s }
            }
            withExtendedLifetime((out, dy)) {}
            return [dx]
        }
    }
}
