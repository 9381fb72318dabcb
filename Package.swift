// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "StyleFilter",
    platforms: [.macOS(.v14)],
    products: [
        // The command keeps its name; its target is StyleFilterCLI so it cannot collide with the
        // library's module on case-insensitive file systems.
        .executable(name: "stylefilter", targets: ["StyleFilterCLI"]),
        .executable(name: "stylefilter-bench", targets: ["stylefilter-bench"]),
        // The one library for users: the stages, the chain, the style run's options, models lookup.
        .library(name: "StyleFilter", targets: ["StyleFilter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // SHA-256 for model verification (Foundation on Linux has no hashing API).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System libraries (Debian: libvips-dev, libopenblas-dev).
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The AVX512-BF16 GEMM behind `MatmulPrecision.bf16` (C for the intrinsics; checks the CPU itself).
        .target(name: "CBFloat16"),
        // Only what Swift cannot import from libvips: macros and variadic calls.
        .target(name: "CVipsShim", dependencies: ["CVips"]),

        .target(
            name: "VipsBridge",
            dependencies: ["CVips", "CVipsShim", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Engine",
            dependencies: ["COpenBLAS", "CZlib", "CBFloat16"],
            exclude: ["Resources/README.md"],
            resources: [.copy("Resources/bpe_simple_vocab_16e6.txt.gz")]
        ),
        .target(
            name: "StyleFilter",
            dependencies: [
                "VipsBridge", "Engine", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The command line's commands, options and terminal handling; the executable is its main.swift.
        .target(
            name: "StyleFilterCommands",
            dependencies: [
                "StyleFilter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Routes libdav1d's messages (AVIF decoding, inside libheif) to the command's log; the command
        // exports the one libdav1d function it takes over (CDav1dLog.c says why).
        .target(name: "CDav1dLog"),
        .executableTarget(
            name: "StyleFilterCLI", dependencies: ["StyleFilter", "StyleFilterCommands", "CDav1dLog"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic-symbol=dav1d_default_settings"])]),
        .executableTarget(
            name: "stylefilter-bench",
            // FixtureSupport for its relativeL2, the tests' measure, when a case compares against a reference.
            dependencies: ["StyleFilter", "Engine", "VipsBridge", "COpenBLAS", "FixtureSupport", .product(name: "Logging", package: "swift-log")]
        ),

        .testTarget(name: "VipsBridgeTests", dependencies: ["VipsBridge"]),
        // Locates the parity fixtures (STYLEFILTER_FIXTURES or Tests/Fixtures) for the test targets.
        .target(name: "FixtureSupport", dependencies: ["Engine"], path: "Tests/FixtureSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "CZlib", "CBFloat16", "FixtureSupport"]),
        // Builds tiny checkpoints and serves models over loopback HTTP for the models tests.
        .target(name: "ModelsTestSupport", path: "Tests/ModelsTestSupport"),
        .testTarget(name: "StyleFilterTests", dependencies: ["StyleFilter", "Engine", "VipsBridge", "FixtureSupport", "ModelsTestSupport"]),
        // Runs the built command (and parses chains through its module); the models tests share the
        // loopback server and checkpoint builders with StyleFilterTests.
        .testTarget(
            name: "CLITests", dependencies: ["StyleFilterCLI", "StyleFilterCommands", "StyleFilter", "Engine", "FixtureSupport", "ModelsTestSupport"],
            exclude: ["Inputs"]),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets of the pipeline side (fuzz/README.md), declared only for a fuzzing build:
// fuzz/pipeline/run.sh builds them (STYLEFILTER_FUZZ=1, --scratch-path .build-fuzz, -sanitize=fuzzer,address).
// They have no main (libFuzzer brings it), so an ordinary build could not link them.
if Context.environment["STYLEFILTER_FUZZ"] == "1" {
    for (name, dependencies) in [
        ("FuzzGeometry", ["StyleFilter"]), ("FuzzChain", ["StyleFilter", "StyleFilterCommands"]), ("FuzzImages", ["StyleFilter"]),
    ] {
        package.targets.append(.executableTarget(
            name: name, dependencies: dependencies.map { .target(name: $0) }, path: "fuzz/pipeline/\(name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library", "-enable-testing"])]))
    }
}

// STYLEFILTER_ENGINE_BENCH=1: the bench with the engine's cases only (sgemm, conv3x3, U-Net, DINO, CLIP),
// linking Engine and OpenBLAS but not libvips, so ../shared/gpu/pack.sh can carry it to a machine without
// libvips (scripts/device/cpu-cores.sh, the many-core CPU figures).
if Context.environment["STYLEFILTER_ENGINE_BENCH"] == "1", let bench = package.targets.first(where: { $0.name == "stylefilter-bench" }) {
    bench.dependencies = ["Engine", "COpenBLAS", "FixtureSupport"]
    bench.exclude = ["BenchPipeline.swift", "BenchStep.swift", "BenchTiles.swift", "BenchTilesMemory.swift"]
    bench.swiftSettings = [.define("ENGINE_ONLY_BENCH")]
}
