// swift-tools-version:6.1
import PackageDescription

/// The matcher benchmark, kept out of the root package so that `swift build` there does not build
/// it. `scripts/bench.sh` builds it (release) and runs it; by hand:
/// `swift run -c release --package-path Benchmarks horae-bench --sizes 100,10000`.
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
        )
    ]
)
