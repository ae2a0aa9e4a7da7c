// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Sharecast",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sharecast", targets: ["sharecast"]),
        .executable(name: "fanout-load", targets: ["fanout-load"]),
        .executable(name: "rules-bench", targets: ["rules-bench"]),
        .executable(name: "sharecast-fuzz", targets: ["sharecast-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
    ],
    targets: [
        // C libraries from Debian, found through pkg-config.
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The lock every shared state sits behind (pthread-based under ThreadSanitizer).
        .target(name: "SharecastSync", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // Typed, non-variadic wrappers around the variadic C entry points.
        .target(name: "CShims", dependencies: ["CMicroHTTPD", "CCurl"]),

        .target(
            name: "SharecastCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .target(name: "CTestPatternClip"),
        .target(name: "SharecastTS", dependencies: ["CTestPatternClip"]),
        .target(
            name: "SharecastHTTP",
            dependencies: [
                "SharecastSync", "CShims", "SharecastCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SharecastUpstream",
            dependencies: [
                "SharecastSync", "CShims", "SharecastCore", "SharecastTS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "SharecastMetrics", dependencies: ["CZlib", "SharecastSync"]),
        .target(
            name: "SharecastStreaming",
            dependencies: [
                "SharecastSync", "SharecastCore", "SharecastHTTP", "SharecastUpstream", "SharecastTS", "SharecastMetrics",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SharecastStore",
            dependencies: [
                "SharecastSync", "SharecastCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // XMLTV guides: a streaming reader, the guide's model and its writer.
        .target(name: "SharecastGuide", dependencies: ["CZlib", "SharecastCore"]),
        // The HDHomeRun network tuner's own protocol: device ids and UDP discovery.
        .target(
            name: "SharecastHDHomeRun",
            dependencies: ["CZlib", "SharecastSync", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "SharecastApp",
            dependencies: [
                "SharecastSync", "SharecastCore", "SharecastHTTP", "SharecastUpstream", "SharecastStore", "SharecastTS",
                "SharecastStreaming", "SharecastMetrics", "SharecastMonitor", "SharecastRules", "SharecastHDHomeRun", "SharecastGuide",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "SharecastRules", dependencies: ["SharecastCore", "SharecastSync", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "SharecastMonitor",
            dependencies: [
                "SharecastSync", "SharecastCore", "SharecastHTTP", "SharecastMetrics", "SharecastStore", "SharecastStreaming", "SharecastUpstream",
            ],
            resources: [.copy("Resources/openapi.json")]
        ),
        // Every parser of outside input as a function of bytes: driven by libFuzzer (Fuzz/) and run
        // over the committed corpora by `make test` (SharecastFuzzTargetsTests).
        .target(
            name: "SharecastFuzzTargets",
            dependencies: [
                "SharecastCore", "SharecastHTTP", "SharecastMonitor", "SharecastRules", "SharecastStore", "SharecastStreaming",
                "SharecastTS", "SharecastUpstream", "SharecastHDHomeRun", "SharecastGuide", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "sharecast-fuzz", dependencies: ["SharecastFuzzTargets", "CShims"]),
        .executableTarget(
            name: "sharecast",
            dependencies: [
                "SharecastApp", "SharecastCore", "SharecastStore", "SharecastUpstream", "SharecastRules",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The benchmark's load client (C, epoll): `make bench` runs it against Sharecast and nginx.
        .executableTarget(name: "fanout-load", path: "Benchmarks/FanoutLoad"),
        .executableTarget(name: "rules-bench", dependencies: ["SharecastRules"], path: "Benchmarks/RulesBench"),

        .testTarget(name: "SharecastCoreTests", dependencies: ["SharecastCore"]),
        .testTarget(name: "SharecastFuzzTargetsTests", dependencies: ["SharecastFuzzTargets"]),
        .testTarget(name: "SharecastTSTests", dependencies: ["SharecastTS"]),
        .testTarget(name: "SharecastMetricsTests", dependencies: ["SharecastMetrics"]),
        .testTarget(name: "SharecastRulesTests", dependencies: ["SharecastRules", "SharecastSync"]),
        .testTarget(name: "SharecastUpstreamTests", dependencies: ["SharecastUpstream"]),
        .testTarget(name: "SharecastHDHomeRunTests", dependencies: ["SharecastHDHomeRun"]),
        .testTarget(name: "SharecastGuideTests", dependencies: ["SharecastGuide"]),
        .testTarget(name: "SharecastStreamingTests", dependencies: ["SharecastStreaming", "SharecastTS", "SharecastHTTP"]),
        .testTarget(
            name: "SharecastStoreTests",
            dependencies: ["SharecastStore", "SharecastCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "SharecastHTTPTests",
            dependencies: ["SharecastHTTP", "SharecastUpstream", "SharecastSync", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SharecastEndToEndTests",
            dependencies: [
                "SharecastApp", "SharecastCore", "SharecastStore", "SharecastHTTP", "SharecastTS", "SharecastUpstream", "SharecastMetrics", "SharecastMonitor", "SharecastGuide",
                "SharecastSync", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
