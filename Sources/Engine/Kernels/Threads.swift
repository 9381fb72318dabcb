import COpenBLAS

/// The engine's thread budget: one knob for OpenBLAS and the engine's own parallel loops.
public enum EngineThreads {
    /// Sets how many threads OpenBLAS (and the engine's element-wise kernels) may use.
    public static func set(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1")
        openblas_set_num_threads(Int32(count))
    }

    /// Threads OpenBLAS will use.
    public static var current: Int { Int(openblas_get_num_threads()) }
}
