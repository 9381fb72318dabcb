/// guided-diffusion's `space_timesteps`: which original timesteps a respaced sampler keeps.
public enum TimestepRespacing {
    /// The kept original timestep indices, ascending, for a respacing string.
    ///
    /// - `"ddimN"`: the first integer stride i ≥ 1 with ⌈T/i⌉ = N, keeping 0, i, 2i, …
    /// - `"c0,c1,…"` (a plain `"100"` is one section): T is split into equal sections (the first
    ///   T mod n one step longer); section k keeps c_k steps at `start + round(cur)` while `cur`
    ///   accumulates the float stride (size−1)/(c_k−1), rounding half to even like Python's `round`.
    public static func keptTimesteps(baseStepCount steps: Int, spec: String) throws -> [Int] {
        guard steps >= 1 else { throw DiffusionError.invalidStepCount(steps) }
        if spec.hasPrefix("ddim") {
            let text = String(spec.dropFirst(4))
            guard let desired = parseCount(text) else {
                throw DiffusionError.invalidRespacing(spec: spec, reason: "'\(text)' is not a step count")
            }
            for stride in 1..<max(steps, 1) where (steps + stride - 1) / stride == desired {
                return Array(Swift.stride(from: 0, to: steps, by: stride))
            }
            throw DiffusionError.invalidRespacing(spec: spec, reason: "no integer stride gives exactly \(desired) of \(steps) steps")
        }
        var counts: [Int] = []
        for part in spec.split(separator: ",", omittingEmptySubsequences: false) {
            guard let count = parseCount(String(part)) else {
                throw DiffusionError.invalidRespacing(spec: spec, reason: "'\(part)' is not a step count")
            }
            counts.append(count)
        }
        return try keptTimesteps(baseStepCount: steps, sectionCounts: counts, spec: spec)
    }

    /// The kept original timesteps for explicit per-section counts (see `keptTimesteps(baseStepCount:spec:)`).
    public static func keptTimesteps(baseStepCount steps: Int, sectionCounts counts: [Int]) throws -> [Int] {
        try keptTimesteps(baseStepCount: steps, sectionCounts: counts, spec: counts.map(String.init).joined(separator: ","))
    }

    private static func keptTimesteps(baseStepCount steps: Int, sectionCounts counts: [Int], spec: String) throws -> [Int] {
        guard steps >= 1 else { throw DiffusionError.invalidStepCount(steps) }
        guard !counts.isEmpty else { throw DiffusionError.invalidRespacing(spec: spec, reason: "no section counts") }
        let sizePer = steps / counts.count, extra = steps % counts.count
        var kept = Set<Int>()
        var start = 0
        for (k, count) in counts.enumerated() {
            let size = sizePer + (k < extra ? 1 : 0)
            guard count >= 0, size >= count else {
                throw DiffusionError.invalidRespacing(spec: spec, reason: "cannot divide a section of \(size) steps into \(count)")
            }
            let stride = count <= 1 ? 1.0 : Double(size - 1) / Double(count - 1)
            var cur = 0.0
            for _ in 0..<count {
                kept.insert(start + Int(cur.rounded(.toNearestOrEven)))
                cur += stride
            }
            start += size
        }
        guard !kept.isEmpty else { throw DiffusionError.invalidRespacing(spec: spec, reason: "keeps no timesteps") }
        return kept.sorted()
    }

    /// A non-negative decimal count, surrounding spaces allowed (as Python's `int()` reads it).
    private static func parseCount(_ text: String) -> Int? {
        let trimmed = String(text.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(trimmed)
    }
}
