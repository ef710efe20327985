import Crypto
import Foundation
import OneCardCore
import Testing
@testable import OneCardVerifier

/// A card hash made from a number, as `CardNumber.hash` would be (hex SHA-256).
private func hash(_ i: Int) -> String { SHA256.hash(data: Data("card-\(i)".utf8)).map { String(format: "%02x", $0) }.joined() }

/// A fresh temporary path for a store file.
private func temporaryStorePath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("revstore-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("gate.revocations").path
}

private let revoking: [RevocationStatus] = [.lost, .temporarilyLost, .cancelled, .replaced, .onlineOnly]

@Suite("Revocation store")
struct RevocationStoreTests {
    @Test func theTableAnswersAsADictionaryThroughOverlayAndMerges() {
        // setup: a small merge threshold so that thousands of changes cross many merges
        let table = CardRevocationTable()
        table.mergeThreshold = 97
        var model: [UInt64: RevocationStatus] = [:]
        var generator = SystemRandomNumberGenerator()
        let keys = (0..<3000).map { CardRevocationTable.key(hash: hash($0))! }
        let misses = (3000..<4000).map { CardRevocationTable.key(hash: hash($0))! }
        // action: revocations, status changes and un-revocations in random order
        for step in 0..<6000 {
            let key = keys.randomElement(using: &generator)!
            let status: RevocationStatus? = Int.random(in: 0..<3, using: &generator) == 0 ? nil : revoking.randomElement(using: &generator)!
            table.set(key: key, status: status)
            model[key] = status
            // validate: at every few steps, before and after the overlay is merged
            if step % 500 == 0 || step == 5999 {
                for k in keys { #expect(table.lookup(key: k) == model[k]) }
                for k in misses { #expect(table.lookup(key: k) == nil) }
            }
        }
        table.merge()
        #expect(table.overlay.isEmpty)
        #expect(table.count == model.values.count { $0 != nil })
        for k in keys { #expect(table.lookupArray(key: k) == model[k]) }
        for k in misses { #expect(table.lookupArray(key: k) == nil) }
        #expect(table.isWellFormed)
    }

    @Test func aBuiltTableEqualsOneMadeByDeltas() {
        let entries = (0..<2000).map { (key: CardRevocationTable.key(hash: hash($0))!, code: UInt8($0 % 5)) }
        let built = CardRevocationTable.build(entries)
        let applied = CardRevocationTable()
        for e in entries.reversed() { applied.set(key: e.key, status: CardRevocationTable.status(e.code)) }
        applied.merge()
        #expect(built.fileBytes() == applied.fileBytes())
        #expect(built.count == 2000)
        #expect(built.lookup(key: entries[1234].key) == .onlineOnly)   // 1234 % 5 == 4
    }

    @Test func aNodesBuilderKeepsTheLastEntryOfEachCardAsDeltasWould() throws {
        // setup: a log of 6,000 entries over 2,000 cards in random order: losses, changes, cards found again
        var generator = SystemRandomNumberGenerator()
        var log: [RevocationEntry] = []
        for _ in 0..<6000 {
            let status: RevocationStatus = Int.random(in: 0..<3, using: &generator) == 0 ? .active : revoking.randomElement(using: &generator)!
            log.append(RevocationEntry(.card(hash: hash(Int.random(in: 0..<2000, using: &generator))), status: status, at: t0))
        }
        // action: the node's builder over the log, oldest first
        var builder = RevocationTableBuilder()
        var added = 0
        for entry in log { if case .card(let h) = entry.subject, builder.add(cardHash: h, status: entry.status) { added += 1 } }
        let notHex = builder.add(cardHash: "not hex", status: .lost)
        #expect(added == 6000 && !notHex && builder.count == 6000)
        let (table, cards) = builder.finish()
        // validate: the same file as a table fed the log as deltas and merged, and it parses as a gate's store
        let applied = CardRevocationTable()
        for entry in log { if case .card(let h) = entry.subject { applied.set(key: CardRevocationTable.key(hash: h)!, status: entry.status.revokes ? entry.status : nil) } }
        applied.merge()
        #expect(table == applied.fileBytes())
        #expect(cards == applied.count && cards > 0 && cards < 2000)
        #expect(try CardRevocationTable.parse(table).isWellFormed)
        var empty = RevocationTableBuilder()
        let emptyTable = empty.finish().table
        #expect(emptyTable == CardRevocationTable().fileBytes())
    }

    @Test func aGateRestartsFromItsFilesWithOverlayAndRemovals() throws {
        // setup: 2,000 revoked cards, a token entry, two issuers' sequences
        let node = Node()
        let verifier = node.verifier()
        let path = temporaryStorePath()
        verifier.apply(RevocationDocument(seq: 10, entries: (0..<2000).map { RevocationEntry(.card(hash: hash($0)), status: .lost, at: t0) }
            + [.token(jti: "jti-1", status: .cancelled, at: t0)]))
        verifier.apply(RevocationDocument(seq: 4, iss: "310000", entries: [RevocationEntry(.card(hash: hash(5000)), status: .replaced, at: t0)]))
        _ = verifier.revokedCardCount   // merged into the array
        try verifier.saveRevocations(to: path)
        let tableBytes = try Data(contentsOf: URL(fileURLWithPath: path))
        // action: a small delta (found cards, a new loss) saved again: only the state file changes
        verifier.apply(RevocationDocument(seq: 11, entries: [
            RevocationEntry(.card(hash: hash(7)), status: .active, at: t0 + 1), RevocationEntry(.card(hash: hash(9000)), status: .temporarilyLost, at: t0 + 1),
            RevocationEntry(.card(hash: hash(8)), status: .cancelled, at: t0 + 1),
        ]))
        try verifier.saveRevocations(to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == tableBytes)
        let restarted = node.verifier()
        try restarted.loadRevocations(from: path)
        // validate
        #expect(restarted.revocation(ofCardHash: hash(7)) == nil)
        #expect(restarted.revocation(ofCardHash: hash(8)) == .cancelled)
        #expect(restarted.revocation(ofCardHash: hash(9000)) == .temporarilyLost)
        #expect(restarted.revocation(ofCardHash: hash(5000)) == .replaced)
        #expect(restarted.revocation(ofCardHash: hash(1999)) == .lost)
        #expect(restarted.revocation(ofCardHash: hash(2001)) == nil)
        #expect(restarted.revocation(ofToken: "jti-1") == .cancelled)
        #expect(restarted.lastSequence() == 11)
        #expect(restarted.lastSequence(issuer: "310000") == 4)
        #expect(restarted.revokedCardCount == 2001)
        // an old delta after the restart is still ignored
        #expect(restarted.apply(RevocationDocument(seq: 11, entries: [RevocationEntry(.card(hash: hash(8)), status: .active, at: t0 + 2)])) == false)
        #expect(restarted.revocation(ofCardHash: hash(8)) == .cancelled)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func aTruncatedOrAlteredStoreIsRefusedAndNothingIsLoaded() throws {
        // setup
        let node = Node()
        let verifier = node.verifier()
        let path = temporaryStorePath()
        verifier.apply(RevocationDocument(seq: 3, entries: (0..<500).map { RevocationEntry(.card(hash: hash($0)), status: .lost, at: t0) }))
        _ = verifier.revokedCardCount
        try verifier.saveRevocations(to: path)
        let table = try Data(contentsOf: URL(fileURLWithPath: path))
        let state = try Data(contentsOf: URL(fileURLWithPath: path + ".state"))
        func refused(table t: Data, state s: Data) -> Bool {
            try! t.write(to: URL(fileURLWithPath: path)); try! s.write(to: URL(fileURLWithPath: path + ".state"))
            let fresh = node.verifier()
            do { try fresh.loadRevocations(from: path) } catch { return fresh.lastSequence() == nil && fresh.revocation(ofCardHash: hash(1)) == nil }
            return false
        }
        // validate: truncated, a flipped bit in the words, in the index, in the state, a state of another table
        #expect(refused(table: table.prefix(table.count - 100), state: state))
        var flipped = table; flipped[table.count - 40] ^= 1
        #expect(refused(table: flipped, state: state))
        var index = table; index[100] ^= 0x80
        #expect(refused(table: index, state: state))
        var badState = state; badState[5] ^= 1
        #expect(refused(table: table, state: badState))
        #expect(refused(table: table, state: state.prefix(state.count - 1)))
        let other = node.verifier()
        other.apply(RevocationDocument(seq: 3, entries: [RevocationEntry(.card(hash: hash(1)), status: .lost, at: t0)]))
        let otherPath = temporaryStorePath()
        try other.saveRevocations(to: otherPath)
        #expect(refused(table: try Data(contentsOf: URL(fileURLWithPath: otherPath)), state: state))
        #expect(throws: RevocationStoreError.missing) { try node.verifier().loadRevocations(from: temporaryStorePath()) }
        // and the genuine pair loads
        #expect(!refused(table: table, state: state))
    }

    @Test func aSnapshotLoadsAGateFromEmptyAndDeltasFollowIt() throws {
        // setup: the node's own list (2,000 cards, one un-revoked, a recent token)
        let node = Node()
        let source = node.verifier()
        source.apply(RevocationDocument(seq: 40, iss: "110000", entries: (0..<2000).map { RevocationEntry(.card(hash: hash($0)), status: revoking[$0 % 5], at: t0) }
            + [RevocationEntry(.card(hash: hash(3)), status: .active, at: t0 + 1), .token(jti: "recent", status: .lost, at: t0 + 100), .token(jti: "old", status: .lost, at: t0)]))
        let body = source.revocationSnapshot(issuer: "110000", tokensSince: t0 + 50, incident: false, key: node.ring.current)
        let gate = node.verifier()
        // action
        #expect(try gate.apply(snapshot: body))
        // validate
        #expect(gate.revokedCardCount == 1999)
        #expect(gate.revocation(ofCardHash: hash(3)) == nil)
        #expect(gate.revocation(ofCardHash: hash(4)) == revoking[4])
        #expect(gate.revocation(ofCardHash: hash(2000)) == nil)
        #expect(gate.revocation(ofToken: "recent") == .lost)
        #expect(gate.revocation(ofToken: "old") == nil)
        #expect(gate.lastSequence(issuer: "110000") == 40)
        // a delta the snapshot already holds is ignored, the next one applies, the same snapshot again changes nothing
        #expect(gate.apply(RevocationDocument(seq: 40, iss: "110000", entries: [RevocationEntry(.card(hash: hash(4)), status: .active, at: t0)])) == false)
        #expect(gate.apply(RevocationDocument(seq: 41, iss: "110000", entries: [RevocationEntry(.card(hash: hash(4)), status: .active, at: t0 + 2)])))
        #expect(try gate.apply(snapshot: body) == false)
        #expect(gate.revocation(ofCardHash: hash(4)) == nil)
    }

    @Test func aTamperedSnapshotIsRefused() throws {
        // setup
        let node = Node()
        let source = node.verifier()
        source.apply(RevocationDocument(seq: 5, iss: "110000", entries: (0..<300).map { RevocationEntry(.card(hash: hash($0)), status: .lost, at: t0) }))
        let body = source.revocationSnapshot(issuer: "110000", tokensSince: t0, incident: false, key: node.ring.current)
        let newline = try #require(body.firstIndex(of: 0x0A))
        let gate = node.verifier()
        // validate: a card removed from the table, a byte of the signed header, a stranger's signature, a cut body
        var table = body; table[body.count - 60] ^= 0x08
        #expect(throws: RevocationSnapshot.Failure.badSignature) { try gate.apply(snapshot: table) }
        var header = body; header[newline - 90] = header[newline - 90] == 0x41 ? 0x42 : 0x41
        #expect(throws: RevocationSnapshot.Failure.badSignature) { try gate.apply(snapshot: header) }
        let stranger = Node(region: "310000", seed: "stranger")
        let foreign = source.revocationSnapshot(issuer: "110000", tokensSince: t0, incident: false, key: stranger.ring.current)
        #expect(throws: RevocationSnapshot.Failure.unknownKey) { try gate.apply(snapshot: foreign) }
        #expect(throws: RevocationSnapshot.Failure.badSignature) { try gate.apply(snapshot: Array(body.dropLast(5))) }
        #expect(throws: RevocationSnapshot.Failure.malformed) { try gate.apply(snapshot: Array("no newline here".utf8)) }
        #expect(gate.lastSequence(issuer: "110000") == nil)
        #expect(gate.revocation(ofCardHash: hash(1)) == nil)
        #expect(try gate.apply(snapshot: body))
        #expect(gate.revocation(ofCardHash: hash(1)) == .lost)
    }

    /// A gate receiving a snapshot in pieces as it downloads (`snapshotDownload`) ends with the same list as from the
    /// whole body, and with the table already its store file (restartable, not written again); a tampered or cut
    /// download leaves no list and no file.
    @Test func aSnapshotReceivedInPiecesBecomesTheStore() throws {
        // setup
        let node = Node()
        let source = node.verifier()
        source.apply(RevocationDocument(seq: 40, iss: "110000", entries: (0..<2000).map { RevocationEntry(.card(hash: hash($0)), status: revoking[$0 % 5], at: t0) }
            + [RevocationEntry(.card(hash: hash(3)), status: .active, at: t0 + 1), .token(jti: "recent", status: .lost, at: t0 + 100)]))
        let body = source.revocationSnapshot(issuer: "110000", tokensSince: t0 + 50, incident: false, key: node.ring.current)
        func receive(_ gate: QRVerifier, _ bytes: [UInt8], at path: String) throws -> Bool {
            let download = try! gate.snapshotDownload(storePath: path)
            var start = 0, size = 7
            while start < bytes.count {  // pieces of 7, 14, 28, … bytes: the header line ends inside one of them
                let end = min(bytes.count, start + size)
                do { try bytes[start..<end].withUnsafeBytes { b in try download.receive(b) } } catch { download.abandon(); throw error }
                start = end; size *= 2
            }
            return try download.finish().applied
        }
        let gate = node.verifier(), path = temporaryStorePath()
        // action
        #expect(try receive(gate, body, at: path))
        // validate: the list, the store file in place and not rewritten by the save, a restart from it
        #expect(gate.revokedCardCount == 1999 && gate.revocation(ofCardHash: hash(4)) == revoking[4] && gate.revocation(ofCardHash: hash(3)) == nil)
        #expect(gate.revocation(ofToken: "recent") == .lost && gate.lastSequence(issuer: "110000") == 40)
        let installed = try Data(contentsOf: URL(fileURLWithPath: path))
        let newline = try #require(body.firstIndex(of: 0x0A))
        #expect(installed == Data(body[(newline + 1)...]), "the table of the snapshot is the store file")
        try gate.saveRevocations(to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == installed)
        let restarted = node.verifier()
        try restarted.loadRevocations(from: path)
        #expect(restarted.revokedCardCount == 1999 && restarted.revocation(ofCardHash: hash(4)) == revoking[4] && restarted.lastSequence(issuer: "110000") == 40)
        #expect(!FileManager.default.fileExists(atPath: path + ".snapshot"))
        // a byte of the table changed, the body cut, a header line that never ends: refused, nothing kept
        var tampered = body; tampered[body.count - 60] ^= 0x08
        for (bad, failure) in [(tampered, RevocationSnapshot.Failure.badSignature), (Array(body.dropLast(5)), .badSignature),
                               ([UInt8](repeating: 0x41, count: 5000), .malformed)] {
            let other = node.verifier(), otherPath = temporaryStorePath()
            #expect(throws: failure) { try receive(other, bad, at: otherPath) }
            #expect(other.lastSequence(issuer: "110000") == nil && other.revocation(ofCardHash: hash(4)) == nil)
            #expect(![otherPath, otherPath + ".snapshot", otherPath + ".snapshot.tmp"].contains { FileManager.default.fileExists(atPath: $0) })
        }
    }
}
