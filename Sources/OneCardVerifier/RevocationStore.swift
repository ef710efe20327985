import Crypto
import Foundation
import OneCardCore

/// The verifier's revocation list on disk and on the wire: a gate saves it after each sync and restarts from it, a node
/// serves it whole as a signed snapshot, a gate starting from empty loads that snapshot and then follows deltas.
extension QRVerifier {
    /// Saves the list to `path` (the card table, rewritten only when it changed since the last save) and
    /// `path.state` (last `seq` per issuer, unmerged changes, token entries), both mode 0600.
    public func saveRevocations(to path: String) throws(RevocationStoreError) {
        let result = revocations.withLock { (r: inout Revocations) -> Result<Void, RevocationStoreError> in
            Result { () throws(RevocationStoreError) in
            let digest: String
            if let saved = r.saved, saved.version == r.cards.version, FileManager.default.fileExists(atPath: path) {
                digest = saved.digest
            } else {
                digest = Hex.encode(try r.cards.write(to: path))
                r.saved = (r.cards.version, digest)
            }
            let state = RevocationStoreState(
                table: digest, seq: r.seq, overlay: r.cards.overlay.sorted { $0.key < $1.key }.map { [$0.key, UInt64($0.value)] },
                tokens: r.tokens.map { RevocationEntry(.token(jti: $0.key), status: $0.value.status, at: $0.value.at) }.sorted { $0.at < $1.at },
                incident: r.incident.sorted())
            let json = (try? JSONEncoder().encode(state)).map { [UInt8]($0) } ?? []
            try StoreFiles.writeAtomically(path + ".state", json + SHA256Digest.bytes(json))
            }
        }
        try result.get()
    }

    /// Replaces the list with the one saved at `path`. Throws, leaving the list as it was, when either file is missing,
    /// truncated or altered, or the state belongs to another table.
    public func loadRevocations(from path: String) throws(RevocationStoreError) {
        let stateFile = try StoreFiles.readAll(path + ".state")
        guard stateFile.count > 32, SHA256Digest.bytes(stateFile.dropLast(32)) == Array(stateFile.suffix(32)),
              let state = try? JSONDecoder().decode(RevocationStoreState.self, from: Data(stateFile.dropLast(32))) else {
            throw .corrupt("\(path).state: truncated or altered")
        }
        let (table, digest) = try CardRevocationTable.read(from: path)
        guard Hex.encode(digest) == state.table else { throw .corrupt("\(path): not the table its state names") }
        for pair in state.overlay {
            guard pair.count == 2, pair[1] == UInt64(CardRevocationTable.removed) || CardRevocationTable.status(UInt8(truncatingIfNeeded: pair[1])) != nil
            else { throw .corrupt("\(path).state: bad overlay entry") }
            table.set(key: pair[0], status: CardRevocationTable.status(UInt8(truncatingIfNeeded: pair[1])))
        }
        revocations.withLock { r in
            r.cards = table
            r.saved = table.version == 0 ? (0, state.table) : nil
            r.seq = state.seq
            r.incident = Set(state.incident)
            r.tokens = [:]
            for entry in state.tokens { if case .token(let jti) = entry.subject { r.tokens[jti] = (entry.status, entry.at) } }
        }
    }

    /// Loads a signed snapshot (`GET /api/v1/trust/revocations/snapshot`) checked against the trust list, unless its
    /// `seq` is not newer than the last applied for its issuer; returns whether it replaced the list of cards.
    @discardableResult
    public func apply(snapshot body: [UInt8]) throws(RevocationSnapshot.Failure) -> Bool {
        try applySnapshot(body).applied
    }

    /// `apply(snapshot:)`, also returning the header as checked (its `iss` the signer's region).
    public func applySnapshot(_ body: [UInt8]) throws(RevocationSnapshot.Failure) -> (applied: Bool, header: RevocationSnapshot) {
        let index = trust.withLock { $0 }
        let (header, range) = try RevocationSnapshot.open(body, trust: index.jwks)
        let table: CardRevocationTable
        do {
            table = try CardRevocationTable.parse(body, range: range)
        } catch { throw .malformed }
        return (try install(header, table, saved: nil), header)
    }

    /// Replaces the list of cards with a snapshot's table (checked against its header), unless the snapshot's `seq` is
    /// not newer than the last applied for its issuer. `saved`: the table is already the store file with this digest.
    private func install(_ header: RevocationSnapshot, _ table: CardRevocationTable, saved: String?) throws(RevocationSnapshot.Failure) -> Bool {
        guard table.count == header.cards else { throw .malformed }
        return revocations.withLock { r in
            let issuer = header.iss ?? ""
            if header.incident == true { r.incident.insert(issuer) } else { r.incident.remove(issuer) }
            if let last = r.seq[issuer], header.seq <= last { return false }
            r.cards = table
            r.saved = saved.map { (table.version, $0) }
            for entry in header.tokens {
                guard case .token(let jti) = entry.subject else { continue }
                if entry.status.revokes { r.tokens[jti] = (entry.status, entry.at) } else { r.tokens.removeValue(forKey: jti) }
            }
            r.seq[issuer] = header.seq
            return true
        }
    }

    /// Receives a snapshot as it downloads, for a gate loading ten million cards without holding the body: the header
    /// line in memory, the table written straight to `<storePath>.snapshot` and hashed on the way. `finish` checks the
    /// header against the trust list and the table against the header, reads the table into place (the only copy in
    /// memory) and installs the file as the store at `storePath`; anything refused leaves the list and the store as
    /// they were.
    public func snapshotDownload(storePath: String) throws(RevocationStoreError) -> RevocationSnapshotDownload {
        try RevocationSnapshotDownload(verifier: self, storePath: storePath)
    }

    fileprivate func finish(_ d: RevocationSnapshotDownload) throws(RevocationSnapshot.Failure) -> (applied: Bool, header: RevocationSnapshot) {
        let index = trust.withLock { $0 }
        let header = try RevocationSnapshot.openHeader(d.headerLine, trust: index.jwks)
        guard Base64URL.encode(d.tableDigest) == header.sha256 else { throw .badSignature }
        let snapshotPath = d.storePath + ".snapshot"
        let (table, digest): (CardRevocationTable, [UInt8])
        do { (table, digest) = try CardRevocationTable.read(from: snapshotPath) } catch { throw .malformed }
        guard table.count == header.cards, rename(snapshotPath, d.storePath) == 0 else { throw .malformed }
        return (try install(header, table, saved: Hex.encode(digest)), header)
    }

    /// Whether the verifier holds any revocation list yet (a snapshot or a delta applied, or a store loaded): a gate
    /// without one loads the node's snapshot rather than every delta since 0.
    public var hasRevocationList: Bool { revocations.withLock { !$0.seq.isEmpty } }

    /// The list as a snapshot body signed with `key` (what a node serves): every card, the token entries `at` or after
    /// `tokensSince`, complete up to the last `seq` applied for `issuer`.
    public func revocationSnapshot(issuer: String?, tokensSince: Date, incident: Bool, key: SigningKey) -> [UInt8] {
        let (table, seq, tokens) = revocations.withLock { r in
            r.cards.merge()
            let tokens = r.tokens.filter { $0.value.at >= tokensSince }
                .map { RevocationEntry(.token(jti: $0.key), status: $0.value.status, at: $0.value.at) }.sorted { $0.at < $1.at }
            return (r.cards.fileBytes(), r.seq[issuer ?? ""] ?? 0, tokens)
        }
        return RevocationSnapshot.body(table: table, seq: seq, iss: issuer, cards: (table.count - CardRevocationTable.headerSize - CardRevocationTable.offsetsSize - 32) / CardRevocationTable.wordSize,
                                       tokens: tokens, incident: incident ? true : nil, key: key)
    }
}

/// Makes the table of a revocation snapshot from a node's log of card entries, given oldest first (a later entry for a
/// card replaces an earlier one; `active` takes the card off). 8 bytes an entry while it collects, about twice that while
/// it sorts, then the table's 5.4 bytes a card: ten million cards in a few hundred megabytes at most, never gigabytes.
public struct RevocationTableBuilder {
    private var entries: [UInt64] = []

    /// An empty builder, with room for `capacity` entries.
    public init(capacity: Int = 0) { entries.reserveCapacity(capacity) }

    /// Adds a card's entry by the first 16+ hex digits of its `CardNumber.hash`; false (nothing added) when they are not hex.
    @discardableResult
    public mutating func add(cardHash: some StringProtocol, status: RevocationStatus) -> Bool {
        guard let key = CardRevocationTable.key(hash: String(cardHash.prefix(16))) else { return false }
        entries.append(key << 3 | UInt64(status.revokes ? CardRevocationTable.code(status) : 7))
        return true
    }

    /// Entries added so far.
    public var count: Int { entries.count }

    /// The table in the store's file format (the body of a snapshot after its header) and the cards in it.
    public mutating func finish() -> (table: [UInt8], cards: Int) {
        var taken = entries
        entries = []
        let table = CardRevocationTable.build(sequenced: &taken)
        return (table.fileBytes(), table.count)
    }
}

extension QRVerifier {
    /// The 57-bit key a card's hash is looked up by (a benchmark compares the table with a plain set of these keys).
    public static func cardKey(hash: String) -> UInt64? { CardRevocationTable.key(hash: hash) }
}

/// SHA-256 as plain bytes.
enum SHA256Digest {
    static func bytes(_ data: some DataProtocol) -> [UInt8] { Array(SHA256.hash(data: data)) }
}

/// A revocation snapshot arriving in pieces (`QRVerifier.snapshotDownload`): feed it with `receive`, then `finish` or
/// `abandon`. Used by one task at a time.
public final class RevocationSnapshotDownload: @unchecked Sendable {
    let storePath: String
    private let verifier: QRVerifier
    private let file: StoreFiles.Writer
    private var hasher = SHA256()
    private(set) var headerLine: [UInt8] = []
    private var inTable = false
    private(set) var tableDigest: [UInt8] = []

    fileprivate init(verifier: QRVerifier, storePath: String) throws(RevocationStoreError) {
        self.verifier = verifier
        self.storePath = storePath
        file = try StoreFiles.Writer(storePath + ".snapshot")
    }

    /// The next bytes of the body.
    public func receive(_ bytes: UnsafeRawBufferPointer) throws(RevocationSnapshot.Failure) {
        var rest = bytes
        if !inTable {
            guard let newline = rest.firstIndex(of: 0x0A) else {
                headerLine += rest
                guard headerLine.count < RevocationSnapshot.maxHeaderBytes else { throw .malformed }
                return
            }
            headerLine += UnsafeRawBufferPointer(rebasing: rest[..<newline])
            guard headerLine.count < RevocationSnapshot.maxHeaderBytes else { throw .malformed }
            inTable = true
            rest = UnsafeRawBufferPointer(rebasing: rest[(newline + 1)...])
        }
        hasher.update(bufferPointer: rest)
        do { try file.write(rest) } catch { throw .malformed }
    }

    /// Checks and installs what was received (see `QRVerifier.snapshotDownload`).
    public func finish() throws(RevocationSnapshot.Failure) -> (applied: Bool, header: RevocationSnapshot) {
        guard inTable else { abandon(); throw .malformed }
        tableDigest = Array(hasher.finalize())
        do { try file.commit() } catch { abandon(); throw .malformed }
        do { return try verifier.finish(self) } catch {
            unlink(storePath + ".snapshot")
            throw error
        }
    }

    /// Drops what was received.
    public func abandon() {
        file.abandon()
        unlink(storePath + ".snapshot")
    }
}
