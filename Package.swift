// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "onecard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "onecard", targets: ["onecard"]),
        .library(name: "OneCardCore", targets: ["OneCardCore"]),
        .library(name: "OneCardVerifier", targets: ["OneCardVerifier"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .target(
            name: "OneCardCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            resources: [
                .copy("Resources/gb2260-codes.tsv"), .copy("Resources/Policies"), .copy("Resources/alliances.json"),
                .copy("Resources/Transit"), .copy("Resources/MedicalPolicies"), .copy("Resources/Service"),
            ]
        ),
        .target(
            name: "OneCardVerifier",
            dependencies: [
                "OneCardCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "OneCardStore",
            dependencies: [
                "OneCardCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .systemLibrary(name: "CQRencode", path: "Sources/CQRencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "OneCardServer",
            dependencies: [
                "OneCardCore",
                "OneCardStore",
                "OneCardVerifier",
                "CQRencode",
                "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Pages/Templates"), .copy("Pages/Static")]
        ),
        .executableTarget(
            name: "onecard",
            dependencies: [
                "OneCardServer",
                "OneCardVerifier",
                "OneCardStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "OneCardTestSupport",
            dependencies: ["OneCardStore", "OneCardCore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/OneCardTestSupport"
        ),
        .testTarget(name: "OneCardCoreTests", dependencies: ["OneCardCore"]),
        .testTarget(
            name: "OneCardVerifierTests",
            dependencies: ["OneCardVerifier", "OneCardCore", .product(name: "JWTKit", package: "jwt-kit")]
        ),
        .testTarget(
            name: "OneCardStoreTests",
            dependencies: ["OneCardStore", "OneCardCore", "OneCardTestSupport"]
        ),
        .testTarget(
            name: "OneCardServerTests",
            dependencies: [
                "OneCardServer",
                "OneCardVerifier",
                "OneCardTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["OneCardCore", "OneCardTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
    ]
)
