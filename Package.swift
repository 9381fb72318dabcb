// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "StyleFilter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "stylefilter", targets: ["stylefilter"]),
        .executable(name: "stylefilter-bench", targets: ["stylefilter-bench"]),
        .library(name: "StyleFilter", targets: ["StyleFilter"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "VipsBridge", targets: ["VipsBridge"]),
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
        // Only what Swift cannot import from libvips: macros and variadic calls.
        .target(name: "CVipsShim", dependencies: ["CVips"]),

        .target(
            name: "VipsBridge",
            dependencies: ["CVips", "CVipsShim", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Engine",
            dependencies: ["COpenBLAS", "CZlib", .product(name: "Logging", package: "swift-log")],
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
        .executableTarget(
            name: "stylefilter",
            dependencies: [
                "StyleFilter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "stylefilter-bench",
            dependencies: ["StyleFilter", "Engine", "VipsBridge", .product(name: "Logging", package: "swift-log")]
        ),

        .testTarget(name: "VipsBridgeTests", dependencies: ["VipsBridge"]),
        // Locates the parity fixtures (STYLEFILTER_FIXTURES or Tests/Fixtures) for the test targets.
        .target(name: "FixtureSupport", dependencies: ["Engine"], path: "Tests/FixtureSupport"),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "FixtureSupport"]),
        .testTarget(name: "StyleFilterTests", dependencies: ["StyleFilter", "Engine", "VipsBridge", "FixtureSupport"]),
        .testTarget(name: "CLITests", dependencies: ["stylefilter", "VipsBridge", "FixtureSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
