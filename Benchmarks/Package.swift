// swift-tools-version:6.1
import PackageDescription

/// The benchmarks, kept out of the root package so that `swift build` there does not build them.
/// `horae-bench`, the matcher: `scripts/bench.sh` builds it (release) and runs it; by hand:
/// `swift run -c release --package-path Benchmarks horae-bench --sizes 100,10000`.
/// `horae-store-bench`, task lifecycles against a state store: `scripts/bench-store.sh`.
let package = Package(
    name: "HoraeBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Horae", path: "../")
    ],
    targets: [
        .executableTarget(
            name: "horae-bench",
            dependencies: [.product(name: "HoraeRules", package: "Horae")]
        ),
        .executableTarget(
            name: "horae-store-bench",
            dependencies: [
                .product(name: "HoraeDispatcher", package: "Horae"), .product(name: "HoraeRules", package: "Horae"),
            ]
        ),
    ]
)
