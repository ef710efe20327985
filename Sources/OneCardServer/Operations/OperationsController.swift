import Foundation
import Hummingbird
import Metrics
import NIOCore
import OneCardCore
import Prometheus

/// Health, Prometheus metrics and the OpenAPI document.
struct OperationsController {
    let health: HealthService

    /// One registry per process, bootstrapped into swift-metrics the first time it is needed.
    static let metrics: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    func register(_ api: API) {
        api.add(.get, "/health",       roles: .anyone, healthCheck)
        api.add(.get, "/metrics",      roles: .anyone, prometheusMetrics)
        api.add(.get, "/openapi.json", roles: .anyone, openAPIDocument(api))
    }

    // MARK: handlers

    var healthCheck: Handler {
        Handler("Liveness and database reachability",
                tag: "operations",
                success: (200, "ok", .object([("status", .string(values: ["ok"]))], required: ["status"])),
                errors: [.databaseUnavailable]) { _, context in
            do {
                try await health.checkDatabase()
            } catch {
                context.logger.error("health check: database unreachable: \(error)")
                throw DomainError(.databaseUnavailable, "the database does not answer")
            }
            return JSONResponse(["status": "ok"])
        }
    }

    var prometheusMetrics: Handler {
        Handler("Prometheus metrics",
                tag: "operations",
                success: (200, "Prometheus text exposition format", nil),
                successContentType: "text/plain") { _, _ in
            var bytes: [UInt8] = []
            Self.metrics.emit(into: &bytes)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    /// The document of every route registered on `api`.
    func openAPIDocument(_ api: API) -> Handler {
        Handler("This document", tag: "operations", success: (200, "OpenAPI 3.1", .anyObject)) { _, _ in
            try Response.json(api.document(version: OneCardApp.version))
        }
    }
}
