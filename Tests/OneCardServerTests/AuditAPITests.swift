import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// The auditor reads the audit log filtered, and has the whole chain verified; nobody else may.
@Suite("Audit log over HTTP: filtered entries and the chain's verification, for the auditor only")
struct AuditAPITests {
    @Test(arguments: Engine.available)
    func theAuditorReadsFilteredEntriesAndSeesTheChainVerified(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup: an auditor, and audited acts (a staff change, an unmasked read)
            _ = try await h.services.createStaffUser(username: "audit1", password: "auditor-password", role: .auditor)
            let auditor = try await h.services.accounts.staffToken(username: "audit1", password: "auditor-password").accessToken
            let person = try await h.call(.post, "/api/v1/persons", token: h.agent, json: [
                "idType": "resident", "idNumber": TestIDs.resident(sequence: "417"), "name": "李晓梅", "phone": "13800001111",
            ])
            let personId = try #require(person.string("personId"), "\(person)")
            _ = try await h.call(.get, "/api/v1/persons/\(personId)?unmask=true", token: h.agent, headers: ["X-Purpose": "窗口核验"])

            // action and validate: filtered by subject and by actor
            let bySubject = try await h.call(.get, "/api/v1/audit?subject=person:\(personId)", token: auditor)
            let entries = try #require(bySubject["entries"] as? [[String: Any]], "\(bySubject)")
            #expect(!entries.isEmpty && entries.allSatisfy { $0["subject"] as? String == "person:\(personId)" }, "\(entries)")
            #expect(entries.first?["purpose"] as? String == "窗口核验")
            let byActor = try await h.call(.get, "/api/v1/audit?actor=nobody", token: auditor)
            #expect((byActor["entries"] as? [Any])?.isEmpty == true)
            // a window that ends before everything happened is empty; a backwards window is refused
            #expect((try await h.call(.get, "/api/v1/audit?to=2000-01-01T00:00:00Z", token: auditor)["entries"] as? [Any])?.isEmpty == true)
            #expect(try await h.call(.get, "/api/v1/audit?from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z", token: auditor).code == "invalid_time_range")
            #expect(try await h.call(.get, "/api/v1/audit?from=2026-13-45T00:00:00Z", token: auditor).code == "invalid_time_range")
            #expect(try await h.call(.get, "/api/v1/audit?from=yesterday", token: auditor).code == "invalid_value")

            // the chain is intact; after an edit behind the application's back it names the entry
            let intact = try await h.call(.get, "/api/v1/audit/verification", token: auditor)
            #expect(intact["intact"] as? Bool == true && (intact["checked"] as? Int ?? 0) >= 2, "\(intact)")
            let seq = try #require(entries.first?["seq"] as? Int)
            try await h.services.store.write { try await $0.db.raw("UPDATE audit_log SET purpose = 'x' WHERE seq = \(bind: seq)").run() }
            let broken = try await h.call(.get, "/api/v1/audit/verification", token: auditor)
            #expect(broken["intact"] as? Bool == false && broken["firstBadSeq"] as? Int == seq, "\(broken)")

            // only the auditor
            #expect(try await h.call(.get, "/api/v1/audit", token: h.admin).status == 403)
            #expect(try await h.call(.get, "/api/v1/audit/verification", token: h.agent).status == 403)
        }
    }

    /// The node signs its chain's head; a tail rewritten afterwards with fresh hashes and a fresh head is still found.
    @Test(arguments: Engine.available)
    func aSignedCheckpointCatchesARewrittenTail(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            _ = try await h.services.createStaffUser(username: "audit1", password: "auditor-password", role: .auditor)
            let auditor = try await h.services.accounts.staffToken(username: "audit1", password: "auditor-password").accessToken
            let signed = try #require(try await h.services.audit.checkpoint())
            // nothing new: no second checkpoint
            #expect(try await h.services.audit.checkpoint() == nil)
            // rewrite the last entry consistently: new fields, its hash recomputed, the head moved to match
            try await h.services.store.write { s in
                let last = try #require(try await s.audit.links(after: signed.seq - 1, limit: 1).first)
                let hash = AuditChain.hash(prev: last.prevHash, seq: last.seq, atMillis: last.atMillis, actor: "someone", action: last.action,
                                           subject: last.subject, purpose: last.purpose)
                try await s.db.raw("UPDATE audit_log SET actor = 'someone', hash = \(bind: hash) WHERE seq = \(bind: last.seq)").run()
                try await s.db.raw("UPDATE audit_head SET hash = \(bind: hash) WHERE id = 1").run()
            }
            let broken = try await h.call(.get, "/api/v1/audit/verification", token: auditor)
            #expect(broken["intact"] as? Bool == false && broken["firstBadSeq"] as? Int == Int(signed.seq), "\(broken)")
        }
    }

    /// The attacker also deletes the node's own copies of the signed heads: the hub's copies still find the rewrite.
    @Test(arguments: Engine.available)
    func theHubsCopyOfASignedHeadCatchesARewriteWhoseLocalCopiesWereRemoved(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            let signed = try #require(try await h.services.audit.checkpoint())
            try await h.services.store.write { s in
                let last = try #require(try await s.audit.links(after: signed.seq - 1, limit: 1).first)
                let hash = AuditChain.hash(prev: last.prevHash, seq: last.seq, atMillis: last.atMillis, actor: "someone", action: last.action,
                                           subject: last.subject, purpose: last.purpose)
                try await s.db.raw("UPDATE audit_log SET actor = 'someone', hash = \(bind: hash) WHERE seq = \(bind: last.seq)").run()
                try await s.db.raw("UPDATE audit_head SET hash = \(bind: hash) WHERE id = 1").run()
                try await s.db.raw("DELETE FROM audit_checkpoints").run()
            }
            // Alone, the node cannot tell; held to the hub's copy it can.
            #expect(try await h.services.audit.verify().broken == nil)
            #expect(try await h.services.audit.verify().hubCheckpoints == nil)
            #expect(try await h.services.audit.verify(against: [signed]).broken == .checkpoint(seq: signed.seq))
            // A copy that differs from the node's own for the same number is a break too.
            let other = try AuditChain.Checkpoint.sign(seq: signed.seq, hash: String(repeating: "0", count: 64), atMillis: signed.atMillis,
                                                       key: h.services.audit.key.privateKey)
            #expect(throws: AuditChain.Break.self) { try AuditChain.Walk(checkpoints: [signed, other], key: h.services.audit.key.publicKey) }
        }
    }
}
