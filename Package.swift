// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "glimpse",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "glimpse", targets: ["glimpse"]),
        .executable(name: "glimpse-bench", targets: ["GlimpseBench"]),
        .library(name: "GlimpseModels", targets: ["GlimpseModels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // System libraries from Debian -dev packages.
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Non-variadic wrappers around libvips's variadic C API.
        .target(name: "CVipsShim", dependencies: ["CVips"]),
        // Vectorised inner loops of the tensor kernels (function multiversioning for AVX-512 / AVX2).
        .target(name: "CGlimpseKernels", dependencies: ["CDNNL"], cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])],
                linkerSettings: [.linkedLibrary("dnnl")]),

        .target(name: "GlimpseTensor", dependencies: ["COpenBLAS", "CGlimpseKernels"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "GlimpseImage", dependencies: ["CVipsShim", "CVips"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "GlimpseModels", dependencies: ["GlimpseTensor", "GlimpseImage"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "GlimpseIndex", dependencies: ["GlimpseTensor", "CGlimpseKernels"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "GlimpseStore", dependencies: ["GlimpseIndex", "GlimpseModels", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "GlimpseEngine", dependencies: ["GlimpseStore", "GlimpseIndex", "GlimpseModels", "GlimpseImage"]),
        .executableTarget(name: "glimpse", dependencies: [
            "GlimpseEngine", "GlimpseStore", "GlimpseIndex", "GlimpseModels", "GlimpseImage", "GlimpseTensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "GlimpseBench", dependencies: [
            "GlimpseModels", "GlimpseTensor", "GlimpseIndex",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Benchmarks/GlimpseBench"),

        .testTarget(name: "GlimpseTensorTests", dependencies: ["GlimpseTensor"]),
        .testTarget(name: "GlimpseImageTests", dependencies: ["GlimpseImage"]),
        .testTarget(name: "GlimpseModelsTests", dependencies: ["GlimpseModels"]),
        .testTarget(name: "GlimpseIndexTests", dependencies: ["GlimpseIndex"]),
        .testTarget(name: "GlimpseStoreTests", dependencies: ["GlimpseStore"]),
        .testTarget(name: "GlimpseEngineTests", dependencies: ["GlimpseEngine"]),
        .testTarget(name: "glimpseTests", dependencies: ["glimpse", "GlimpseStore"]),
    ],
    swiftLanguageModes: [.v6]
)
