import Crypto
import Foundation

/// The audit log's hash chain (DESIGN capability 14): entry n's hash covers its fields and entry n−1's hash, and the
/// head row holds the last number and hash. Walking the chain finds an edited entry (its hash no longer matches), a
/// removed one (a gap in the numbers, or a link to the wrong predecessor), an inserted one (a link that does not match),
/// and a removed tail (the head names an entry that is not there).
public enum AuditChain {
    /// The hash before the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// The hash of one entry: SHA-256 over length-prefixed fields, so no two field lists hash alike.
    public static func hash(prev: String, seq: Int64, atMillis: Int64, actor: String, action: String, subject: String, purpose: String?) -> String {
        let fields = [prev, String(seq), String(atMillis), actor, action, subject, purpose ?? ""]
        let joined = fields.map { "\($0.utf8.count):\($0)" }.joined()
        return Hex.encode(SHA256.hash(data: Data(joined.utf8)))
    }

    /// One stored entry as the chain sees it.
    public struct Link: Sendable, Equatable {
        public var seq: Int64
        public var atMillis: Int64
        public var actor: String
        public var action: String
        public var subject: String
        public var purpose: String?
        public var prevHash: String
        public var hash: String

        public init(seq: Int64, atMillis: Int64, actor: String, action: String, subject: String, purpose: String?, prevHash: String, hash: String) {
            self.seq = seq; self.atMillis = atMillis; self.actor = actor; self.action = action; self.subject = subject; self.purpose = purpose
            self.prevHash = prevHash; self.hash = hash
        }
    }

    /// The chain's head as the node signed it at one moment (`audit_checkpoints`).
    public struct Checkpoint: Sendable, Equatable {
        public var seq: Int64
        public var hash: String
        public var atMillis: Int64
        public var keyID: String
        /// Base64 Ed25519 signature of `message`.
        public var signature: String

        public init(seq: Int64, hash: String, atMillis: Int64, keyID: String, signature: String) {
            self.seq = seq; self.hash = hash; self.atMillis = atMillis; self.keyID = keyID; self.signature = signature
        }

        /// What is signed: a domain label, the number, the hash and the time, one per line.
        public static func message(seq: Int64, hash: String, atMillis: Int64) -> Data {
            Data("onecard-audit-checkpoint-v1\n\(seq)\n\(hash)\n\(atMillis)".utf8)
        }

        public static func sign(seq: Int64, hash: String, atMillis: Int64, key: Curve25519.Signing.PrivateKey) throws -> Checkpoint {
            let signature = try key.signature(for: message(seq: seq, hash: hash, atMillis: atMillis))
            return Checkpoint(seq: seq, hash: hash, atMillis: atMillis, keyID: SigningKey.kid(for: key.publicKey), signature: signature.base64EncodedString())
        }

        public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
            guard let raw = Data(base64Encoded: signature) else { return false }
            return key.isValidSignature(raw, for: Self.message(seq: seq, hash: hash, atMillis: atMillis))
        }
    }

    /// The first place the chain is broken.
    public enum Break: Error, Sendable, Equatable, CustomStringConvertible {
        /// Entry `seq`'s fields or hash were changed.
        case edited(seq: Int64)
        /// Entries from `expected` are missing: the next one stored is `found`.
        case missing(expected: Int64, found: Int64)
        /// Entry `seq` does not link to the entry before it (one was inserted or replaced).
        case wrongLink(seq: Int64)
        /// The head names entry `headSeq`, but the chain ends at `lastSeq` (its tail was removed or rewritten).
        case tail(headSeq: Int64, lastSeq: Int64)
        /// Entry `seq` is not what the node signed as its head earlier (the chain was rewritten from there on), or the
        /// signed checkpoint itself is not the node's.
        case checkpoint(seq: Int64)

        /// The number of the first bad (or first missing) entry.
        public var seq: Int64 {
            switch self {
            case .edited(let s), .wrongLink(let s), .checkpoint(let s): s
            case .missing(let expected, _): expected
            case .tail(_, let last): last + 1
            }
        }

        public var description: String {
            switch self {
            case .edited(let s): "entry \(s) was changed after it was written"
            case .missing(let e, let f): "entries \(e)…\(f - 1) are missing"
            case .wrongLink(let s): "entry \(s) does not follow the entry before it (inserted or replaced)"
            case .tail(let h, let l): "the chain ends at entry \(l) but its head names entry \(h) (the tail was removed or rewritten)"
            case .checkpoint(let s): "entry \(s) is not the head the node signed (the chain was rewritten from there), or the signed checkpoint is forged"
            }
        }
    }

    /// Walks the chain in order, a page at a time.
    public struct Walk: Sendable {
        public private(set) var next: Int64 = 1
        private var prev = AuditChain.genesis
        public private(set) var checked = 0
        /// Signed heads by number: the entry at that number must have that hash.
        private var checkpoints: [Int64: String] = [:]

        public init() {}

        /// A walk that also holds the chain to the heads the node signed; a checkpoint not signed by `key` is itself a
        /// break (returned at once).
        public init(checkpoints: [Checkpoint], key: Curve25519.Signing.PublicKey?) throws(Break) {
            for c in checkpoints {
                if let key, !c.isSigned(by: key) { throw .checkpoint(seq: c.seq) }
                // Two signed heads for one number (the node's own copy and the hub's): one of them was replaced.
                if let other = self.checkpoints[c.seq], other != c.hash { throw .checkpoint(seq: c.seq) }
                self.checkpoints[c.seq] = c.hash
            }
        }

        /// Checks the next entries (in `seq` order); returns the first break among them.
        public mutating func check(_ links: [Link]) -> Break? {
            for link in links {
                if link.seq != next { return .missing(expected: next, found: link.seq) }
                if link.prevHash != prev { return .wrongLink(seq: link.seq) }
                let expected = AuditChain.hash(prev: prev, seq: link.seq, atMillis: link.atMillis, actor: link.actor, action: link.action,
                                               subject: link.subject, purpose: link.purpose)
                if link.hash != expected { return .edited(seq: link.seq) }
                if let signed = checkpoints[link.seq], signed != link.hash { return .checkpoint(seq: link.seq) }
                prev = link.hash
                next += 1
                checked += 1
            }
            return nil
        }

        /// After the last entry: the head must name exactly where the chain ended.
        public func finish(headSeq: Int64, headHash: String) -> Break? {
            let last = next - 1
            if headSeq != last || headHash != prev { return .tail(headSeq: headSeq, lastSeq: last) }
            // A head signed beyond where the chain now ends: its tail was cut and the head rewound.
            if let beyond = checkpoints.keys.filter({ $0 > last }).min() { return .checkpoint(seq: beyond) }
            return nil
        }
    }
}
