// swift-tools-version:6.1
import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which depends on where the repository was
// cloned (`tributary`, a worktree's name, CI's checkout).
let mainPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

// libFuzzer targets over the main package's parsers and decoders. A package of its own so that
// `swift build` of the main package never needs `-sanitize=fuzzer`; scripts/fuzz.sh builds and
// runs it.
let package = Package(
    name: "tributary-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzPipelineConfig",
            dependencies: ["FuzzSupport", .product(name: "PipelineConfig", package: mainPackage)]),
        .executableTarget(
            name: "FuzzFraming",
            dependencies: [
                "FuzzSupport",
                .product(name: "Pipeline", package: mainPackage),
                .product(name: "PipelineConfig", package: mainPackage),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "FuzzRecordBatch",
            dependencies: [
                "FuzzSupport",
                .product(name: "KafkaWire", package: mainPackage),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .executableTarget(
            name: "FuzzResponses",
            dependencies: [
                "FuzzSupport",
                .product(name: "KafkaWire", package: mainPackage),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
    ]
)
