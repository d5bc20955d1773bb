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
    ],
    targets: [
        // System libraries from Debian -dev packages.
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Non-variadic wrappers around libvips's variadic C API.
        .target(name: "CVipsShim", dependencies: ["CVips"]),
        // Vectorised inner loops of the tensor kernels (function multiversioning for AVX-512 / AVX2).
        .target(name: "CGlimpseKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),

        .target(name: "GlimpseTensor", dependencies: ["COpenBLAS", "CDNNL", "CGlimpseKernels"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "GlimpseImage", dependencies: ["CVipsShim", "CVips"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .target(name: "GlimpseModels", dependencies: ["GlimpseTensor", "GlimpseImage"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"])]),
        .executableTarget(name: "glimpse", dependencies: [
            "GlimpseModels", "GlimpseImage", "GlimpseTensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "GlimpseBench", dependencies: [
            "GlimpseModels", "GlimpseTensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Benchmarks/GlimpseBench"),

        .testTarget(name: "GlimpseTensorTests", dependencies: ["GlimpseTensor"]),
        .testTarget(name: "GlimpseImageTests", dependencies: ["GlimpseImage"]),
        .testTarget(name: "GlimpseModelsTests", dependencies: ["GlimpseModels"]),
        .testTarget(name: "glimpseTests", dependencies: ["glimpse"]),
    ],
    swiftLanguageModes: [.v6]
)
