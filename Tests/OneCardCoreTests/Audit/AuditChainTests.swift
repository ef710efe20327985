import Crypto
import Foundation
import OneCardCore
import Testing

/// The audit chain finds every way of tampering with the log: an edited entry, a removed one, an inserted or replaced
/// one, and a removed or extended tail.
@Suite("Audit chain: an edited, removed or inserted entry, and a rewritten tail, are each found")
struct AuditChainTests {
    /// A correct chain of `n` entries and its head.
    static func chain(_ n: Int) -> (links: [AuditChain.Link], head: (Int64, String)) {
        var links: [AuditChain.Link] = []
        var prev = AuditChain.genesis
        for i in 1...n {
            let seq = Int64(i)
            let hash = AuditChain.hash(prev: prev, seq: seq, atMillis: 1_800_000_000_000 + seq, actor: "agent:a", action: "person_unmasked",
                                       subject: "person:\(i)", purpose: "窗口核验")
            links.append(.init(seq: seq, atMillis: 1_800_000_000_000 + seq, actor: "agent:a", action: "person_unmasked", subject: "person:\(i)",
                               purpose: "窗口核验", prevHash: prev, hash: hash))
            prev = hash
        }
        return (links, (Int64(n), prev))
    }

    static func verify(_ links: [AuditChain.Link], head: (Int64, String), page: Int = 2) -> AuditChain.Break? {
        var walk = AuditChain.Walk()
        for start in stride(from: 0, to: links.count, by: page) {
            if let b = walk.check(Array(links[start..<min(start + page, links.count)])) { return b }
        }
        return walk.finish(headSeq: head.0, headHash: head.1)
    }

    @Test func anIntactChainVerifiesPageByPage() {
        let (links, head) = Self.chain(7)
        #expect(Self.verify(links, head: head) == nil)
        #expect(Self.verify([], head: (0, AuditChain.genesis)) == nil)
    }

    @Test func anEditedEntryIsNamed() {
        var (links, head) = Self.chain(5)
        links[2].purpose = "改过的目的"
        #expect(Self.verify(links, head: head) == .edited(seq: 3))
    }

    @Test func anEntryRewrittenWithItsOwnHashBreaksTheNextLink() {
        var (links, head) = Self.chain(5)
        links[2].subject = "person:other"
        links[2].hash = AuditChain.hash(prev: links[2].prevHash, seq: 3, atMillis: links[2].atMillis, actor: links[2].actor, action: links[2].action,
                                        subject: links[2].subject, purpose: links[2].purpose)
        #expect(Self.verify(links, head: head) == .wrongLink(seq: 4))
    }

    @Test func aRemovedEntryIsNamed() {
        var (links, head) = Self.chain(5)
        links.remove(at: 1)
        #expect(Self.verify(links, head: head) == .missing(expected: 2, found: 3))
        #expect(AuditChain.Break.missing(expected: 2, found: 3).seq == 2)
    }

    @Test func anInsertedEntryIsFound() {
        var (links, head) = Self.chain(4)
        // an entry slipped in at the end, its own hash right, but the head not moved
        let last = links.last!
        let forged = AuditChain.hash(prev: last.hash, seq: 5, atMillis: 1, actor: "x", action: "y", subject: "z", purpose: nil)
        links.append(.init(seq: 5, atMillis: 1, actor: "x", action: "y", subject: "z", purpose: nil, prevHash: last.hash, hash: forged))
        #expect(Self.verify(links, head: head) == .tail(headSeq: 4, lastSeq: 5))
    }

    @Test func aRemovedTailIsFoundByTheHead() {
        var (links, head) = Self.chain(6)
        links.removeLast(2)
        let broken = Self.verify(links, head: head)
        #expect(broken == .tail(headSeq: 6, lastSeq: 4))
        #expect(broken?.seq == 5)
    }

    /// A rewritten tail with fresh hashes and a fresh head passes the walk alone; the head signed earlier catches it.
    @Test func aRewrittenTailIsFoundByAnEarlierSignedHead() throws {
        let key = Curve25519.Signing.PrivateKey()
        let (links, _) = Self.chain(5)
        let signed = try AuditChain.Checkpoint.sign(seq: 3, hash: links[2].hash, atMillis: 1, key: key)
        // rewrite entries 3…5 consistently (each hash recomputed), as an attacker with the database could
        var forged = Array(links.prefix(2))
        var prev = links[1].hash
        for i in 3...5 {
            let seq = Int64(i)
            let hash = AuditChain.hash(prev: prev, seq: seq, atMillis: 7, actor: "x", action: "y", subject: "z", purpose: nil)
            forged.append(.init(seq: seq, atMillis: 7, actor: "x", action: "y", subject: "z", purpose: nil, prevHash: prev, hash: hash))
            prev = hash
        }
        #expect(Self.verify(forged, head: (5, prev)) == nil)
        var walk = try AuditChain.Walk(checkpoints: [signed], key: key.publicKey)
        #expect(walk.check(forged) == .checkpoint(seq: 3))
        // the untouched chain agrees with its checkpoint
        var honest = try AuditChain.Walk(checkpoints: [signed], key: key.publicKey)
        #expect(honest.check(links) == nil && honest.finish(headSeq: 5, headHash: links[4].hash) == nil)
    }

    @Test func aCutTailWithARewoundHeadIsFoundByTheSignedHeadBeyondIt() throws {
        let key = Curve25519.Signing.PrivateKey()
        let (links, _) = Self.chain(5)
        var walk = try AuditChain.Walk(checkpoints: [try .sign(seq: 5, hash: links[4].hash, atMillis: 1, key: key)], key: key.publicKey)
        #expect(walk.check(Array(links.prefix(3))) == nil)
        #expect(walk.finish(headSeq: 3, headHash: links[2].hash) == .checkpoint(seq: 5))
    }

    @Test func aCheckpointNotSignedByTheNodeIsItselfABreak() throws {
        let (links, _) = Self.chain(2)
        let other = try AuditChain.Checkpoint.sign(seq: 2, hash: links[1].hash, atMillis: 1, key: Curve25519.Signing.PrivateKey())
        #expect(throws: AuditChain.Break.checkpoint(seq: 2)) { try AuditChain.Walk(checkpoints: [other], key: Curve25519.Signing.PrivateKey().publicKey) }
    }
}
