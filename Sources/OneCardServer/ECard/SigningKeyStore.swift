import Foundation
import NIOConcurrencyHelpers
import OneCardCore
import OneCardVerifier

/// The node's QR signing keys as this process signs with them. The ring lives in the database (`qr_signing_keys`,
/// private halves sealed under the node key), so every process of a node signs with the same current key:
/// `KeyService.syncSigningKeys` stores the data directory's ring there on the first start of a node (a node from before
/// keeps its keys) and otherwise takes the database's, and `KeyWatcher` calls it every 5 s, so a rotation by any process
/// (`keys rotate`, incident mode: `KeyService.rotateSigningKey`) reaches every other one within that.
/// The data directory's `signing-keys.json` (mode 0600) is this host's copy of the ring, rewritten when it changes, for
/// commands that sign without a server (`bench tokens`) and as the seed of a node's first start. The old key stays in the
/// trust list until every token it signed has expired.
final class SigningKeyStore: Sendable {
    let directory: URL
    private let clock: Clock
    private struct State { var ring: SigningKeyRing; var modified: Date?; var checkedAt: Date; var verifier: QRVerifier }
    private let state: NIOLockedValueBox<State?>

    /// The region this node signs for: a ring of another region's is refused.
    let region: String
    /// Where a rotation's new key comes from.
    let random: RandomSource

    /// Touches nothing on disk: the keys are read, or made for `region`, by `open()` or on first use.
    init(directory: URL, region: String, clock: Clock, random: RandomSource) {
        self.directory = directory
        self.clock = clock
        self.region = region
        self.random = random
        state = NIOLockedValueBox(nil)
    }

    /// Reads the keys, or makes them for this node's region when the folder has none; refuses another region's keys.
    /// `serve` calls it at start-up; commands that sign nothing never do, so they leave the folder to the node's region.
    func open() throws {
        try state.withLockedValue { s in
            if s == nil { s = try load() }
        }
    }

    /// Whether `open()` ran: commands that sign nothing never read or make keys, nor sync them.
    var isOpen: Bool { state.withLockedValue { $0 != nil } }

    /// Signs with `fresh` from now on when it differs from the ring in use, and keeps the data directory's copy in step.
    func adopt(_ fresh: SigningKeyRing) {
        state.withLockedValue { s in
            guard let current = s, current.ring.fingerprint != fresh.fingerprint else { return }
            try? fresh.save(in: directory)
            s = State(ring: fresh, modified: Self.modified(directory), checkedAt: Date(), verifier: Self.verifier(for: fresh))
        }
    }

    private func load() throws -> State {
        let ring = try SigningKeyRing.loadOrCreate(in: directory, region: region, clock: clock, random: random)
        guard ring.region == region else {
            throw ConfigurationError("\(directory.appendingPathComponent(SigningKeyRing.fileName).path) holds keys for region \(ring.region), but this node runs as \(region): use another --data-dir")
        }
        return State(ring: ring, modified: Self.modified(directory), checkedAt: Date(), verifier: Self.verifier(for: ring))
    }

    private static func modified(_ directory: URL) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(SigningKeyRing.fileName).path))?[.modificationDate] as? Date
    }

    /// The current ring, reloaded when the key file has changed on disk.
    var ring: SigningKeyRing {
        state.withLockedValue { loaded in
            guard var s = loaded else {
                do { loaded = try load() } catch { fatalError("signing keys: \(error)") }
                return loaded!.ring
            }
            defer { loaded = s }
            let now = Date()
            if now.timeIntervalSince(s.checkedAt) >= 2 {
                s.checkedAt = now
                let m = Self.modified(directory)
                if m != s.modified, let fresh = try? SigningKeyRing.load(from: directory) {
                    s.ring = fresh
                    s.modified = m
                    s.verifier = Self.verifier(for: fresh)
                }
            }
            return s.ring
        }
    }

    /// A verifier of this node's own tokens, for acceptances at its venues. Replays are checked per venue
    /// item in the database, so its in-memory replay cache is off.
    var verifier: QRVerifier {
        _ = ring
        return state.withLockedValue { $0!.verifier }
    }

    private static func verifier(for ring: SigningKeyRing) -> QRVerifier {
        var configuration = QRVerifier.Configuration()
        configuration.checksReplay = false
        configuration.skew = ring.skew
        return QRVerifier(trustList: JWKS(keys: ring.keys.map { $0.jwk(issuer: ring.region) }), configuration: configuration)
    }
}
