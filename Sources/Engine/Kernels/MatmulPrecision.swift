import CBFloat16

/// The number format of the engine's matrix products: every GEMM, so convolutions, linear layers and
/// attention, forward and backward. Everything else (norms, softmax, element-wise ops, the sampler's
/// arithmetic, the accumulation inside each product) stays float32 in either.
public enum MatmulPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// float32 throughout (OpenBLAS sgemm): the path whose parity with the upstream code the tests prove.
    case fp32
    /// Operands rounded to bfloat16 (to nearest even), products summed in float32, on CPUs with
    /// AVX512-BF16 (every CPU with AMX-BF16 has it too; AMX tiles themselves are not used).
    case bf16

    public var description: String { rawValue }

    /// Whether this CPU runs the precision (always for fp32).
    public var isSupported: Bool {
        switch self {
        case .fp32: true
        case .bf16: Self.bf16Supported
        }
    }

    private static let bf16Supported = sf_bf16_gemm_supported()

    /// The precision the engine's products run in on this task or thread (fp32 unless inside
    /// ``withEngine(_:)``). A task-local, with a thread-local fallback outside tasks; `Parallel` hands it
    /// to its worker threads, so concurrent callers (tests, a host program) each keep their own.
    public static var current: MatmulPrecision { scoped }

    @TaskLocal static var scoped: MatmulPrecision = .fp32

    /// Runs `body` with the engine's products in this precision.
    /// - Throws: ``MatmulPrecisionError/unsupported(_:)`` when this CPU cannot run it; nothing runs then.
    public func withEngine<R>(_ body: () throws -> R) throws -> R {
        guard isSupported else { throw MatmulPrecisionError.unsupported(self) }
        return try Self.$scoped.withValue(self, operation: body)
    }
}

/// A precision this CPU cannot run.
public enum MatmulPrecisionError: Error, CustomStringConvertible, Equatable {
    case unsupported(MatmulPrecision)

    public var description: String {
        switch self {
        case .unsupported(let precision):
            "precision \(precision) needs a CPU with AVX512-BF16 (AMD Zen 4 or later, Intel Cooper Lake, Sapphire Rapids or later); this one has none: use fp32"
        }
    }
}
