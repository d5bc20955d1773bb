// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "glimpse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "glimpse", targets: ["glimpse"]),
        .executable(name: "glimpse-bench", targets: ["GlimpseBench"]),
        .library(name: "GlimpseModels", targets: ["GlimpseModels"]),
        .library(name: "GlimpseText", targets: ["GlimpseText"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // The PostgreSQL + pgvector store
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // glimpse serve
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Image lists: downloads (HTTP/1.1 keep-alive, per-host connection limits, streaming bodies) and S3 signing
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        // The Milvus store: gRPC (HTTP/2 over NIO) and the protobuf runtime of the generated MilvusProtocol
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries from Debian -dev packages.
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        .systemLibrary(name: "COpenBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Non-variadic wrappers around libvips's variadic C API.
        .target(name: "CVipsShim", dependencies: ["CVips"]),
        // Vectorised inner loops of the tensor kernels (function multiversioning for AVX-512 / AVX2).
        .target(name: "CGlimpseKernels", dependencies: ["CDNNL"], cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])],
                linkerSettings: [.linkedLibrary("dnnl")]),

        .target(name: "GlimpseTensor", dependencies: ["COpenBLAS", "CGlimpseKernels"]),
        .target(name: "GlimpseImage", dependencies: ["CVipsShim", "CVips"]),
        // Tokenizers: the Hugging Face tokenizer.json pipeline (Foundation only).
        .target(name: "GlimpseText"),
        .target(name: "GlimpseModels", dependencies: ["GlimpseTensor", "GlimpseImage", "GlimpseText"]),
        // Hugging Face Hub download and cache (Foundation only).
        .target(name: "GlimpseHub"),
        .target(name: "GlimpseIndex", dependencies: ["GlimpseTensor", "CGlimpseKernels"]),
        // Milvus's MilvusService messages and gRPC client, generated from pymilvus's definitions by
        // scripts/milvus-proto/generate.sh (pruned to the RPCs the Milvus store calls) and committed.
        .target(name: "MilvusProtocol", dependencies: [
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .target(name: "GlimpseStore", dependencies: [
            "GlimpseIndex", "GlimpseModels", "MilvusProtocol", .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        ]),
        // Where images come from besides folders: lists (CSV/TSV/JSON Lines, gzip'd), HTTP(S) and S3.
        .target(name: "GlimpseSources", dependencies: [
            "GlimpseImage", "GlimpseStore", "CZlib",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "GlimpseEngine", dependencies: ["GlimpseStore", "GlimpseIndex", "GlimpseModels", "GlimpseImage", "GlimpseSources", "CVipsShim",
                                               .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "GlimpseServer", dependencies: [
            "GlimpseEngine", "GlimpseStore", "GlimpseIndex", "GlimpseModels", "GlimpseImage", "CVipsShim",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "glimpse", dependencies: [
            "GlimpseEngine", "GlimpseServer", .product(name: "Logging", package: "swift-log"), "GlimpseStore", "GlimpseIndex", "GlimpseModels", "GlimpseImage", "GlimpseTensor", "GlimpseText", "GlimpseHub", "GlimpseSources",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "GlimpseBench", dependencies: [
            "GlimpseModels", "GlimpseTensor", "GlimpseIndex", "GlimpseEngine", "GlimpseStore", "GlimpseImage",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "Benchmarks/GlimpseBench"),
        // An HTTP server of misbehaving image hosts on loopback: the list-indexing tests and the downloader benchmark.
        .executableTarget(name: "glimpse-fixture-server", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
        ], path: "Benchmarks/FixtureServer"),

        .testTarget(name: "GlimpseTensorTests", dependencies: ["GlimpseTensor"]),
        .testTarget(name: "GlimpseImageTests", dependencies: ["GlimpseImage"],
                    exclude: ["make_resampler_expectations.py", "Resources"]),
        .testTarget(name: "GlimpseTextTests", dependencies: ["GlimpseText"]),
        .testTarget(name: "GlimpseModelsTests", dependencies: ["GlimpseModels", "GlimpseText", "GlimpseImage", "GlimpseTensor"]),
        .testTarget(name: "GlimpseHubTests", dependencies: ["GlimpseHub"]),
        .testTarget(name: "GlimpseIndexTests", dependencies: ["GlimpseIndex"]),
        .testTarget(name: "GlimpseStoreTests", dependencies: ["GlimpseStore", "GlimpseIndex", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "GlimpseSourcesTests", dependencies: ["GlimpseSources", "GlimpseStore"]),
        .testTarget(name: "GlimpseEngineTests", dependencies: ["GlimpseEngine"]),
        .testTarget(name: "GlimpseServerTests", dependencies: [
            "GlimpseServer", "GlimpseEngine", "GlimpseStore", "GlimpseModels",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "glimpseTests", dependencies: ["glimpse", "GlimpseStore", "GlimpseSources", "glimpse-fixture-server"]),
    ],
    swiftLanguageModes: [.v6]
)
