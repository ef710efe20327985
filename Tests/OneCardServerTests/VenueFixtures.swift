import Foundation
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// Helpers for the catalogue, venues and acceptance.
extension Harness {
    /// The jurisdiction's seed catalogue, published as version 1.
    func seedCatalogue() async throws {
        try await services.catalogue.seedIfEmpty(by: "test")
    }

    /// A venue with one terminal: (venueId, apiKey).
    func createVenue(type: String, region: String, items: [String], name: String = "测试场馆") async throws -> (String, String) {
        let v = try await call(.post, "/api/v1/venues", token: admin, json: [
            "name": name, "operatorUscc": CatalogueAndAcceptanceAPITests.uscc(), "type": type, "regionCode": region, "address": "测试路 1 号",
            "accessibility": ["无障碍通道"], "unifiedLogo": true, "itemCodes": items,
        ])
        #expect(v.status == 201, "\(v)")
        let id = try #require(v.string("venueId"))
        let t = try await call(.post, "/api/v1/venues/\(id)/terminals", token: admin)
        return (id, try #require(t.string("apiKey")))
    }

    /// A terminal presents a credential for a catalogue item (POST /api/v1/acceptances) under an Idempotency-Key.
    func accept(key: String, item: String, credential: [String: Any], idempotency: String = UUID().uuidString, amountFen: Int? = nil) async throws -> Reply {
        var body: [String: Any] = ["itemCode": item, "credential": credential]
        if let amountFen { body["amountFen"] = amountFen }
        let data = try JSONSerialization.data(withJSONObject: body)
        return try await call(.post, "/api/v1/acceptances", token: key, body: String(decoding: data, as: UTF8.self), headers: ["Idempotency-Key": idempotency])
    }
}
