#!/usr/bin/env bash
# Regenerates the Swift code of Protos/google/pubsub/v1/pubsub.proto (the Pub/Sub messages and
# the Subscriber client the gRPC transport uses) into
# Sources/HoraeDispatcher/PubSub/GRPC/Generated/. The generated files are committed: a build
# plugin would compile protoc-gen-swift on every clean build (about 9.5 minutes here).
#
#   scripts/generate-pubsub-grpc.sh
#
# Needs `protoc` (Debian's protobuf-compiler; it also brings the well-known types such as
# google/protobuf/timestamp.proto). The two code generators are built from the same package
# versions Package.swift pins, in .build-protoc-gen (ignored by git): protoc-gen-swift from
# swift-protobuf and protoc-gen-grpc-swift-2 from grpc-swift-protobuf. Run it again after
# changing the proto or moving those pins.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT_PROTOBUF_VERSION=1.39.0
GRPC_SWIFT_PROTOBUF_VERSION=2.4.1
GRPC_SWIFT_VERSION=2.4.3

command -v protoc >/dev/null || {
    echo "generate-pubsub-grpc: protoc is missing (apt-get install protobuf-compiler)" >&2
    exit 1
}

build=.build-protoc-gen
mkdir -p "$build"
# A package of its own whose only purpose is to build the generators at the pinned versions.
cat >"$build/Package.swift" <<EOF
// swift-tools-version:6.1
// Written by scripts/generate-pubsub-grpc.sh: builds the protoc plugins it runs.
import PackageDescription

let package = Package(
    name: "ProtocGenerators",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "$SWIFT_PROTOBUF_VERSION"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "$GRPC_SWIFT_PROTOBUF_VERSION"),
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "$GRPC_SWIFT_VERSION"),
    ],
    targets: [
        .target(
            name: "Placeholder",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
            ])
    ]
)
EOF
mkdir -p "$build/Sources/Placeholder"
echo '// Empty: the package exists for its dependencies'"'"' executables.' >"$build/Sources/Placeholder/Placeholder.swift"

swift build --package-path "$build" --product protoc-gen-swift
swift build --package-path "$build" --product protoc-gen-grpc-swift-2
bin=$(swift build --package-path "$build" --show-bin-path)

out=Sources/HoraeDispatcher/PubSub/GRPC/Generated
mkdir -p "$out"
rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
protoc --proto_path=Protos \
    --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
    --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
    --swift_out="$out" --swift_opt=Visibility=Internal,FileNaming=DropPath \
    --grpc-swift_out="$out" \
    --grpc-swift_opt=Visibility=Internal,FileNaming=DropPath,Client=true,Server=false \
    google/pubsub/v1/pubsub.proto
echo "generate-pubsub-grpc: wrote $out/pubsub.pb.swift and $out/pubsub.grpc.swift"
