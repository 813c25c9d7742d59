// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Horae",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "horae", targets: ["horae"]),
        .library(name: "HoraeRules", targets: ["HoraeRules"]),
        .library(name: "HoraeDispatcher", targets: ["HoraeDispatcher"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // No default traits: "FullFoundation" would link all of Foundation (and ICU) into the daemon
        // for URL-encoded-form date formatters, "ConfigurationSupport" swift-configuration; the
        // status server uses neither (docs/benchmarks.md, idle RSS).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    ],
    targets: [
        .systemLibrary(name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "HoraeRules", dependencies: ["CYAML"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),
        .target(name: "HoraeDispatcher", dependencies: [
            "HoraeRules", "CCurl", "CSQLite", "COpenSSL",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .executableTarget(name: "horae", dependencies: [
            "HoraeRules", "HoraeDispatcher",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "horae-bench", dependencies: ["HoraeRules"], path: "Sources/horae-bench"),
        // Test helper: a store writer the crash tests kill -9 at random instants.
        .executableTarget(name: "horae-store-crash-child", dependencies: ["HoraeDispatcher"], path: "Sources/horae-store-crash-child"),
        .testTarget(name: "RulesTests", dependencies: ["HoraeRules"], exclude: ["Fixtures"]),
        .testTarget(name: "DispatcherTests", dependencies: [
            "HoraeDispatcher", "COpenSSL",
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
        ]),
    ]
)
