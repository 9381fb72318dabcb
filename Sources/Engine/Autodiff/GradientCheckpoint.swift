extension Ops {
    /// Gradient checkpointing: runs `body` without recording and keeps only its inputs; the
    /// backward pass re-runs `body` on a private tape to get the input gradients. Trades one extra
    /// forward of `body` for all of its intermediate activations. `body` must be deterministic.
    public static func checkpoint(_ inputs: [Variable], _ body: @escaping ([Variable]) -> Variable) -> Variable {
        let output = body(inputs.map { Variable($0.value) }).value
        let values = inputs.map(\.value)
        let needs = inputs.map(\.requiresGradient)
        return Variable.make(output, inputs) { dy in
            let tape = Tape()
            let watched = values.map { tape.watch($0) }
            let y = body(watched)
            let grads = tape.gradients(of: y, cotangent: dy, wrt: watched)
            return zip(grads, needs).map { $1 ? $0 : nil }
        }
    }
}
