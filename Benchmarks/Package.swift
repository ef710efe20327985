// swift-tools-version:6.1
// Benchmarks live in their own package so the main build and test runs never compile package-benchmark.
import PackageDescription

let package = Package(
    name: "onecard-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "onecard", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // Only to measure JWTKit's issuance against the hand-written one (RESULTS.md).
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .executableTarget(
            name: "TokenBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "OneCardCore", package: "onecard"),
                .product(name: "OneCardVerifier", package: "onecard"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/TokenBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
