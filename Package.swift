// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "tributary",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "KafkaWire", targets: ["KafkaWire"]),
        .library(name: "KafkaClient", targets: ["KafkaClient"]),
        .library(name: "PipelineConfig", targets: ["PipelineConfig"]),
        .library(name: "Pipeline", targets: ["Pipeline"]),
        .executable(name: "tributary", targets: ["tributary"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // TLS to brokers (BoringSSL inside), and the hashes of SASL SCRAM.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        // C system libraries behind the compression codecs (Debian: zlib1g-dev liblz4-dev
        // libzstd-dev libsnappy-dev; scripts/bootstrap.sh installs them).
        .systemLibrary(
            name: "CKafkaZlib", path: "Sources/CKafkaZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CKafkaLZ4", path: "Sources/CKafkaLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(
            name: "CKafkaZstd", path: "Sources/CKafkaZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(
            name: "CKafkaSnappy", path: "Sources/CKafkaSnappy",
            providers: [.apt(["libsnappy-dev"])]),
        // CRC-32C with the SSE4.2 instruction where the CPU has it, and a portable table.
        .target(name: "CKafkaCRC32C"),

        // The protocol codec: no sockets, files or clocks.
        .target(
            name: "KafkaWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                "CKafkaCRC32C", "CKafkaZlib", "CKafkaLZ4", "CKafkaZstd", "CKafkaSnappy",
            ]),

        // The producer engine, usable on its own as a library.
        .target(
            name: "KafkaClient",
            dependencies: [
                "KafkaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // The system's libyaml (Debian: libyaml-dev), and the thin Swift layer over its document
        // API that keeps every node's line and column.
        .systemLibrary(
            name: "CLibYAML", path: "Sources/CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .target(name: "LibYAML", dependencies: ["CLibYAML"]),

        // Pipeline file → validated description, errors naming file:line:column. No I/O but the
        // file read in `load(path:)`.
        .target(name: "PipelineConfig", dependencies: ["LibYAML", "KafkaClient"]),

        // libsystemd (Debian: libsystemd-dev): sd_notify and socket activation.
        .systemLibrary(
            name: "CSystemd", path: "Sources/CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "SystemdSupport",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")]),

        // The agent's runtime: sources, framing, keys, routes, acknowledgements, reload.
        .target(
            name: "Pipeline",
            dependencies: [
                "PipelineConfig", "KafkaClient", "KafkaWire", "SystemdSupport",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // `/metrics` and `/health` over HTTP/1.1 (TCP or a UNIX socket); knows nothing of the
        // pipeline but what it is handed.
        .target(
            name: "MetricsServer",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // The executable: `run`, `validate`, `doctor`, `state` and `produce`.
        .executableTarget(
            name: "tributary",
            dependencies: [
                "KafkaClient", "KafkaWire", "PipelineConfig", "Pipeline", "SystemdSupport", "MetricsServer",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),

        // Test support only: drives librdkafka's mock cluster (scripts/kafka_test_cluster.py).
        // No product depends on it.
        .target(name: "KafkaTestCluster"),
        // Test support only: fake brokers answering ApiVersions, Metadata and DescribeConfigs from
        // a configurable cluster description (`tributary doctor`'s tests). No product depends on it.
        .target(
            name: "KafkaFakeCluster",
            dependencies: [
                "KafkaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),

        .testTarget(
            name: "KafkaWireTests",
            dependencies: [
                "KafkaWire", "KafkaTestCluster",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            // Read through #filePath by the tests; not bundle resources.
            exclude: ["Vectors"]),
        .testTarget(
            name: "KafkaClientTests",
            dependencies: [
                "KafkaClient", "KafkaWire", "KafkaTestCluster", "KafkaFakeCluster",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]),
        .testTarget(
            name: "MetricsServerTests",
            dependencies: [
                "MetricsServer", "KafkaTestCluster",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "PipelineConfigTests",
            dependencies: ["PipelineConfig", "LibYAML", "KafkaClient"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "PipelineConfig", "SystemdSupport", "KafkaClient", "KafkaWire", "KafkaTestCluster",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]),
        // The built binary (`tributary run`) against the test cluster.
        .testTarget(
            name: "AgentTests",
            dependencies: ["KafkaTestCluster", "KafkaFakeCluster"]),
        .testTarget(
            name: "KafkaIntegrationTests",
            dependencies: [
                "KafkaWire", "KafkaTestCluster",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
    ]
)
