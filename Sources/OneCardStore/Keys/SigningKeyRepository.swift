import Foundation
import OneCardCore
import SQLKit

/// The QR signing key ring (migration 043): every key with its private half sealed under the personal-data key, and the
/// `node_settings` row `qr_signing_ring` (the current kid) that a change of the ring locks first.
public struct SigningKeyRepository: Sendable {
    let db: any SQLDatabase
    let dialect: Dialect
    let cipher: FieldCipher

    static let setting = "qr_signing_ring"

    /// The stored ring, or nil when none is stored yet.
    public func ring() async throws -> SigningKeyRing? {
        var region: String?
        var keys: [SigningKey] = []
        for r in try await db.raw("SELECT * FROM qr_signing_keys ORDER BY created_at DESC, kid").all() {
            let raw = Base64URL.decode(try cipher.open(try r.string("private_enc"), field: "qr_signing_key")) ?? []
            guard let key = SigningKey(rawPrivateKey: raw, createdAt: try r.date("created_at"), retiredAt: try r.optionalDate("retired_at")) else {
                throw DomainError(.internalError, "qr_signing_keys: the key \(try r.string("kid")) is not an Ed25519 seed")
            }
            region = try r.string("region")
            keys.append(key)
        }
        guard let region else { return nil }
        return SigningKeyRing(region: region, stored: keys)
    }

    /// Stores the first ring, unless another process stored one first (then false, and nothing is written). On
    /// PostgreSQL the second process's claim waits for the first one's commit and then finds it.
    public func storeFirst(_ ring: SigningKeyRing, by: String, at: Date) async throws -> Bool {
        let claimed = try await db.raw("""
            INSERT INTO node_settings (name, value, updated_by, updated_at) VALUES (\(bind: Self.setting), \(bind: ring.current.kid), \(bind: by), \(bind: at.millis))
            ON CONFLICT (name) DO NOTHING RETURNING name
            """).all()
        guard !claimed.isEmpty else { return false }
        for key in ring.keys { try await insert(key, region: ring.region) }
        return true
    }

    /// Locks the ring for a change (a rotation) until the transaction ends.
    public func lock() async throws {
        _ = try await db.raw("SELECT value FROM node_settings WHERE name = \(bind: Self.setting)\(unsafeRaw: dialect.forUpdate)").all()
    }

    /// Writes a rotation: the new current key, the old one retired, keys no token can outlive removed.
    public func replace(with ring: SigningKeyRing, by: String, at: Date) async throws {
        let kids = Set(ring.keys.map(\.kid))
        let stored = Set(try await db.raw("SELECT kid FROM qr_signing_keys").all().map { try $0.string("kid") })
        for key in ring.keys where !stored.contains(key.kid) { try await insert(key, region: ring.region) }
        for key in ring.keys where stored.contains(key.kid) {
            try await db.raw("UPDATE qr_signing_keys SET retired_at = \(bind: key.retiredAt?.millis) WHERE kid = \(bind: key.kid)").run()
        }
        for kid in stored.subtracting(kids) { try await db.raw("DELETE FROM qr_signing_keys WHERE kid = \(bind: kid)").run() }
        try await db.raw("""
            UPDATE node_settings SET value = \(bind: ring.current.kid), updated_by = \(bind: by), updated_at = \(bind: at.millis) WHERE name = \(bind: Self.setting)
            """).run()
    }

    private func insert(_ key: SigningKey, region: String) async throws {
        try await db.raw("""
            INSERT INTO qr_signing_keys (kid, region, private_enc, created_at, retired_at)
            VALUES (\(bind: key.kid), \(bind: region), \(bind: cipher.seal(Base64URL.encode(key.rawPrivateKey), field: "qr_signing_key")),
                    \(bind: key.createdAt.millis), \(bind: key.retiredAt?.millis))
            """).run()
    }
}
