import Foundation
import OneCardTestSupport
import Testing

extension EndToEndTests {
    /// A Guangdong node bootstrapped exactly as the README says: `migrate`, `users create`, `serve --region 440000`.
    /// Commands that sign nothing must leave the signing keys to `serve`, which makes them for its own region
    /// (they used to make Beijing's, and serve then refused to start).
    @Test(arguments: Engine.available)
    func aNodeOutsideBeijingBootstrapsAsTheReadmeSays(_ engine: Engine) async throws {
        // setup
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-gd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let (database, db) = try await Self.databaseArgument(engine)
        let common = ["--data-dir", dataDir] + (database.map { ["--database", $0] } ?? [])
        let migrated = try await Self.run(["migrate"] + common)
        #expect(migrated.status == 0, "\(migrated.output)")
        let created = try await Self.run(["users", "create", "--username", "admin", "--role", "admin"] + common, input: "a-long-admin-password\n")
        #expect(created.status == 0, "\(created.output)")
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/signing-keys.json"), "migrate and users create sign nothing")

        // the node starts for its own region
        let server = try Server(["serve", "--region", "440000", "--port", "0"] + common)
        do {
            let http = HTTP(base: try await server.baseURL())
            let token = try await http.call("POST", "/api/v1/auth/token", json: ["username": "admin", "password": "a-long-admin-password"])
            #expect(token.0 == 200 && token.1["accessToken"] is String, "\(token)")

            // validate
            let jwks = try await http.call("GET", "/api/v1/trust/jwks")
            let keys = jwks.1["keys"] as? [[String: Any]] ?? []
            #expect(jwks.0 == 200 && !keys.isEmpty, "\(jwks)")
            #expect(keys.allSatisfy { $0["iss"] as? String == "440000" }, "\(keys)")
        } catch {
            _ = try? await server.terminate()
            await db?.remove()
            throw error
        }
        #expect(try await server.terminate() == 0, "\(server.text)")
        await db?.remove()
    }
}
