// swift-tools-version:6.1
import PackageDescription

/// Packages that `horae` links only through its direct dependencies. Package.resolved is not
/// committed, so each is pinned here to the version the project is tested with, and `horae`
/// names one product of each (already linked through Hummingbird, swift-service-lifecycle,
/// swift-metrics and the gRPC packages, so naming it adds nothing to the binary): a clean build resolves the same graph
/// today and in a year. README, "Dependencies", says how to move them.
let transitivePins: [(url: String, version: Version, package: String, product: String)] = [
    ("https://github.com/apple/swift-async-algorithms", "1.1.4", "swift-async-algorithms", "AsyncAlgorithms"),
    ("https://github.com/apple/swift-asn1", "1.7.4", "swift-asn1", "SwiftASN1"),
    ("https://github.com/apple/swift-atomics", "1.3.0", "swift-atomics", "Atomics"),
    ("https://github.com/apple/swift-certificates", "1.21.1", "swift-certificates", "X509"),
    ("https://github.com/apple/swift-collections", "1.6.0", "swift-collections", "DequeModule"),
    ("https://github.com/apple/swift-crypto", "4.5.2", "swift-crypto", "Crypto"),
    ("https://github.com/apple/swift-distributed-tracing", "1.7.3", "swift-distributed-tracing", "Tracing"),
    ("https://github.com/apple/swift-http-types", "1.8.0", "swift-http-types", "HTTPTypes"),
    ("https://github.com/apple/swift-nio", "2.101.3", "swift-nio", "NIOCore"),
    ("https://github.com/apple/swift-nio-extras", "1.35.2", "swift-nio-extras", "NIOExtras"),
    ("https://github.com/apple/swift-nio-http2", "1.46.0", "swift-nio-http2", "NIOHTTP2"),
    ("https://github.com/apple/swift-nio-ssl", "2.37.6", "swift-nio-ssl", "NIOSSL"),
    // Resolved for grpc-swift-nio-transport's Apple-platform transport; an empty module on Linux.
    (
        "https://github.com/apple/swift-nio-transport-services", "1.28.0", "swift-nio-transport-services",
        "NIOTransportServices"
    ),
    ("https://github.com/apple/swift-service-context", "1.5.1", "swift-service-context", "ServiceContextModule"),
    ("https://github.com/apple/swift-system", "1.8.1", "swift-system", "SystemPackage"),
]

/// Executables only the tests run, built when `HORAE_TEST_HELPERS=1` (scripts/test.sh sets it):
/// SwiftPM builds every non-test target of the root package on `swift build`, and a test bundle
/// cannot carry a second executable, so a switch is what keeps them out of a plain build. The
/// tests that need one fail, saying how to build it, where it is missing.
let testHelpers: [Target] =
    Context.environment["HORAE_TEST_HELPERS"] == "1"
    ? [
        // A store writer the crash tests kill -9 at random instants.
        .executableTarget(
            name: "horae-store-crash-child", dependencies: ["HoraeDispatcher"],
            path: "Sources/horae-store-crash-child")
    ]
    : []

/// The commit `horae --version` names: `HORAE_COMMIT` when set, else the checkout's HEAD with
/// `-dirty` for uncommitted changes, else `unknown` (a source tree without git). SwiftPM reuses an
/// evaluated manifest until this file or the environment changes, not when HEAD moves: an
/// incremental build may name an earlier commit, so scripts/package.sh sets HORAE_COMMIT.
let gitCommit: String = {
    if let commit = Context.environment["HORAE_COMMIT"], !commit.isEmpty { return commit }
    guard let git = Context.gitInformation else { return "unknown" }
    return git.currentCommit + (git.hasUncommittedChanges ? "-dirty" : "")
}()

/// How the release `horae` is linked, for its resident memory (docs/benchmarks.md, "Idle"):
/// - `--no-export-dynamic`: the toolchain's static-stdlib link exports every symbol of the
///   program's own objects (about 54 000), and the dynamic loader then looks relocations up by
///   name at start, touching megabytes of symbol tables. Nothing resolves Horae's symbols at run
///   time (crash backtraces read the file's own symbol table).
/// - lld (the toolchain's own) with `-z pack-relative-relocs`: the 2.6 MB of relative
///   relocations, all read at start, shrink to a compact table (DT_RELR, glibc 2.36 or later,
///   Debian 12's). The default linker, gold, cannot pack them.
let releaseLinkFlags = [
    "-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
]

let package = Package(
    name: "Horae",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "horae", targets: ["horae"]),
        .library(name: "HoraeRules", targets: ["HoraeRules"]),
        .library(name: "HoraeDispatcher", targets: ["HoraeDispatcher"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        // No default traits: "FullFoundation" would link all of Foundation (and ICU) into the daemon
        // for URL-encoded-form date formatters, "ConfigurationSupport" swift-configuration; the
        // status server uses neither (docs/benchmarks.md, idle RSS).
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        // The gRPC transport (StreamingPull). Its Swift code is generated once and committed
        // (scripts/generate-pubsub-grpc.sh): no build plugin. No swift-protobuf traits: the default
        // "BinaryDelimitedStreams" would link all of Foundation.
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0", traits: []),
    ] + transitivePins.map { .package(url: $0.url, exact: $0.version) },
    targets: [
        .systemLibrary(
            name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(
            name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        // fork/exec of `exec` children: what runs between the two must be async-signal-safe C.
        .target(name: "CHoraeSpawn"),
        // libpq, the PostgreSQL state store's client (docs/daemon.md, "State store").
        .systemLibrary(
            name: "CPostgres", path: "Sources/CPostgres", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        // The build's git commit for `horae --version`, as a C string constant.
        .target(name: "CHoraeBuildInfo", cSettings: [.define("HORAE_GIT_COMMIT", to: "\"\(gitCommit)\"")]),
        // Plain -O: HoraeRules parses untrusted JSON and YAML, so overflow and bounds checks stay on.
        .target(name: "HoraeRules", dependencies: ["CYAML"]),
        .target(
            name: "HoraeDispatcher",
            dependencies: [
                "HoraeRules", "CCurl", "CSQLite", "COpenSSL", "CHoraeSpawn", "CPostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            exclude: ["PubSub/GRPC/Generated/README.md"]),
        .executableTarget(
            name: "horae",
            dependencies: [
                "HoraeRules", "HoraeDispatcher", "CHoraeBuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ] + transitivePins.map { .product(name: $0.product, package: $0.package) },
            linkerSettings: [.unsafeFlags(releaseLinkFlags, .when(configuration: .release))]),
        // Test helper: finds and runs the built `horae` for the test targets.
        .target(name: "HoraeTestSupport", path: "Tests/HoraeTestSupport"),
        .testTarget(name: "RulesTests", dependencies: ["HoraeRules", "HoraeTestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "DispatcherTests",
            dependencies: [
                "HoraeDispatcher", "COpenSSL", "HoraeTestSupport",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ]),
    ] + testHelpers
)
