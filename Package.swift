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
    ],
    targets: [
        .systemLibrary(name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        .target(name: "HoraeRules", dependencies: ["CYAML"],
                swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]),
        .target(name: "HoraeDispatcher", dependencies: ["HoraeRules"]),
        .executableTarget(name: "horae", dependencies: [
            "HoraeRules", "HoraeDispatcher",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "horae-bench", dependencies: ["HoraeRules"], path: "Sources/horae-bench"),
        .testTarget(name: "RulesTests", dependencies: ["HoraeRules"], exclude: ["Fixtures"]),
        .testTarget(name: "DispatcherTests", dependencies: ["HoraeDispatcher"]),
    ]
)
