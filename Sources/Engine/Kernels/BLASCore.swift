import COpenBLAS
import Foundation

/// Which OpenBLAS kernels (its "core type") run the engine's GEMMs, and a better choice for CPUs the
/// installed OpenBLAS does not know.
///
/// OpenBLAS picks its kernels once, when the library loads, from the CPU model. An OpenBLAS older than
/// the CPU (Debian's 0.3.21 on Emerald Rapids) falls back to a generic kernel several times slower,
/// silently. The CPU's features say what it can run, so a program calls ``selectForThisCPU(arguments:)``
/// first thing: when OpenBLAS's choice uses less of the CPU than it could and the user has not set
/// `OPENBLAS_CORETYPE`, the program runs itself again with it set (OpenBLAS reads it only when it loads).
public enum BLASCore {
    /// The instruction-set features the kernel choice depends on.
    public struct Features: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let avx2FMA = Features(rawValue: 1)
        /// AVX-512 F, DQ, BW and VL (SkylakeX's kernels).
        public static let avx512 = Features(rawValue: 2)
        public static let avx512BF16 = Features(rawValue: 4)
        public static let amx = Features(rawValue: 8)

        /// The features in a list of `/proc/cpuinfo` flags.
        public init(flags: Set<String>) {
            var f: Features = []
            if flags.isSuperset(of: ["avx2", "fma"]) { f.insert(.avx2FMA) }
            if flags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl"]) { f.insert(.avx512) }
            if flags.contains("avx512_bf16") { f.insert(.avx512BF16) }
            if flags.isSuperset(of: ["amx_tile", "amx_bf16"]) { f.insert(.amx) }
            self = f
        }

        /// This CPU's features (Linux: the first `flags` line of /proc/cpuinfo; empty elsewhere).
        public static var current: Features {
            guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
                let colon = line.firstIndex(of: ":")
            else { return [] }
            return Features(flags: Set(line[line.index(after: colon)...].split(separator: " ").map(String.init)))
        }
    }

    /// OpenBLAS core names (lower-case) by how much of the instruction set their kernels use: SSE-era,
    /// AVX, AVX2, AVX-512, AVX-512 with BF16, AMX. A name not listed is left alone (it may be newer).
    static let ranks: [String: Int] = {
        var r: [String: Int] = [:]
        for name in ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "opteron", "opteron_sse3", "barcelona", "bobcat", "katmai",
                     "coppermine", "northwood", "banias", "athlon", "nano"] { r[name] = 0 }
        for name in ["sandybridge", "bulldozer", "piledriver"] { r[name] = 1 }
        for name in ["haswell", "zen", "steamroller", "excavator"] { r[name] = 2 }
        r["skylakex"] = 3
        r["cooperlake"] = 4
        r["sapphirerapids"] = 5
        return r
    }()

    /// The core types worth asking for, best first, with the features their kernels need and their rank.
    static let candidates: [(name: String, needs: Features, rank: Int)] = [
        ("SapphireRapids", [.avx512, .avx512BF16, .amx], 5),
        ("Cooperlake", [.avx512, .avx512BF16], 4),
        ("SkylakeX", [.avx512], 3),
        ("Haswell", [.avx2FMA], 2),
    ]

    /// The core type to ask OpenBLAS for on a CPU with `features` when it chose `openBLASCore`: the best
    /// one the CPU can run and the library was built with (`isBuilt`; Debian's 0.3.21 has no
    /// SapphireRapids, and asking for a core it lacks brings back its own choice). Nil when its choice
    /// already uses as much (or is a core this table does not know).
    public static func choice(features: Features, openBLASCore: String, isBuilt: (String) -> Bool = { _ in true }) -> String? {
        guard let have = ranks[openBLASCore.lowercased()],
            let wanted = candidates.first(where: { features.isSuperset(of: $0.needs) && isBuilt($0.name) }),
            have < wanted.rank
        else { return nil }
        return wanted.name
    }

    /// Whether the loaded OpenBLAS has kernels for `core`: a dynamic-architecture build exports one
    /// `gotoblas_<CORE>` table per core it was built with. Where symbols cannot be looked up (a static
    /// executable), true: the second run's ``summary`` then says if OpenBLAS did not take the request.
    static func isBuilt(_ core: String) -> Bool {
        guard let handle = dlopen(nil, RTLD_NOW) else { return true }
        defer { dlclose(handle) }
        if dlsym(handle, "gotoblas_corename") == nil { return true }
        return dlsym(handle, "gotoblas_" + core.uppercased()) != nil
    }

    /// Whether OpenBLAS 0.3.21's `core` may run a product under 2^23 multiply-adds with beta 0 on its
    /// small-product or "direct" kernels rather than its blocked ones: its AVX-512 cores do, and so may any core
    /// this table does not rank (it may be newer).
    static func hasSmallProductKernels(_ core: String) -> Bool {
        (ranks[core.lowercased()] ?? .max) >= ranks["skylakex"]!
    }

    /// The kernels OpenBLAS runs now.
    public static var current: String { String(cString: openblas_get_corename()) }

    /// Set in the environment of the second run: the core OpenBLAS chose by itself in the first.
    static let replacedVariable = "STYLEFILTER_OPENBLAS_CHOSE"

    /// Runs the program again with a better `OPENBLAS_CORETYPE` when OpenBLAS chose kernels that use less
    /// of this CPU than it could (see the type's description); returns otherwise. Call it before any other
    /// work: the process is replaced, with the same arguments and open files.
    public static func selectForThisCPU(arguments: [String] = CommandLine.arguments) {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment[replacedVariable] == nil,
            let better = choice(features: .current, openBLASCore: current, isBuilt: isBuilt)
        else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        setenv(replacedVariable, current, 1)
        let argv = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", argv)
        // execv returned: the program goes on with OpenBLAS's own choice.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(replacedVariable)
    }

    /// A line for `-v`: the kernels in use and who chose them.
    public static var summary: String {
        let environment = ProcessInfo.processInfo.environment
        if let chose = environment[replacedVariable], let asked = environment["OPENBLAS_CORETYPE"] {
            if current.lowercased() != asked.lowercased() {
                return "OpenBLAS kernels: \(current) (asked for \(asked), which this OpenBLAS does not have; it chose \(chose))"
            }
            return "OpenBLAS kernels: \(current) (OpenBLAS chose \(chose), which does not use all this CPU has)"
        }
        if let set = environment["OPENBLAS_CORETYPE"] { return "OpenBLAS kernels: \(current) (OPENBLAS_CORETYPE=\(set))" }
        return "OpenBLAS kernels: \(current) (chosen by OpenBLAS)"
    }
}
