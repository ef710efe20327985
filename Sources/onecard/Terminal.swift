import ArgumentParser
import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import OneCardCore
import OneCardServer
import OneCardStore
import OneCardVerifier

/// `onecard terminal`: a gate that decides offline. It syncs the trust list and revocation deltas from
/// the node when it can, reads one QR token per line on standard input, answers each at once from
/// `OneCardVerifier`, keeps every decision in a local SQLite file and uploads them in batches
/// (`POST /api/v1/acceptances/batch`, once each) whenever the node answers. A node that is down never
/// stops the gate.
struct TerminalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "terminal", abstract: """
        Run an offline gate: an acceptance gate for a catalogue item (--item), or a transit gate (--operator, --station, --direction).         Standard input: one QR token per line; a transit gate also takes a card read as card:<cardNumber>:<challenge>:<response>.
        """)

    @Option(help: "The node's base URL, e.g. http://127.0.0.1:8080.") var node: String
    @Option(help: "This terminal's API key.") var key: String
    @Option(help: "The catalogue item this gate accepts (an acceptance gate).") var item: String?
    @Option(name: .customLong("operator"), help: "A transit gate: the operator's code (its taps go to POST /api/v1/transit/taps).") var operatorCode: String?
    @Option(help: "A transit gate's station (or a bus validator's stop), as in the operator's fare table.") var station: String?
    @Option(help: "A transit gate's direction: in, out or board.") var direction: String?
    @Option(help: "The gate's local SQLite file.") var store: String = "./onecard-terminal.sqlite"
    @Option(help: "Seconds between syncs and uploads.") var interval: Double = 5
    @Option(name: .customLong("hub-key"), help: "The national hub's key (JWK, `keys show` output or @FILE): trust only the hub-signed national list the node mirrors at /api/v1/trust/jwks.jws, so the gate verifies every member region's QR codes.")
    var hubKey: String?

    func validate() throws {
        let transit = [operatorCode, station, direction].compactMap { $0 }.count
        guard (item != nil) != (transit > 0) else { throw ValidationError("give --item (an acceptance gate) or --operator, --station and --direction (a transit gate)") }
        guard transit == 0 || transit == 3 else { throw ValidationError("a transit gate needs --operator, --station and --direction") }
        if let direction, TapDirection(rawValue: direction) == nil { throw ValidationError("--direction: in, out or board") }
    }

    func run() async throws {
        var logger = Logger(label: "onecard-terminal")
        logger.logLevel = .error
        guard let base = URL(string: node), base.scheme != nil else { throw fail("--node must be a URL such as http://127.0.0.1:8080") }
        var hub: FederationPublicKey?
        if let hubKey {
            do { hub = try FederationPublicKey.parse(hubKey) } catch { throw fail("--hub-key: \(error)") }
        }
        let journal = try await TerminalJournal.open(path: store, logger: logger)
        let gate = Gate(base: base, key: key, journal: journal, storePath: store, hubKey: hub?.key, item: item)
        await gate.restore()
        await gate.sync()
        let background = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                await gate.sync()
                await gate.upload()
                await gate.uploadTaps()
            }
        }
        var decideTimes: [Duration] = [], shownTimes: [Duration] = []
        let place = operatorCode.flatMap { op in station.flatMap { st in direction.flatMap(TapDirection.init).map { (op, st, $0) } } }
        for await line in StandardInputLines() {
            let token = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { continue }
            let started = ContinuousClock.now
            if let (op, st, dir) = place {
                let t = await gate.decideTap(token, operator: op, station: st, direction: dir)
                let decided = ContinuousClock.now
                // Journaled before the gate opens: a tap the gate acted on is never missing from the journal.
                try? await journal.record(t)
                let reason = t.reason.map { #","reason":"\#($0)""# } ?? ""
                say(#"{"tapId":"\#(t.id)","decision":"\#(t.decision)"\#(reason)}"#)
                decideTimes.append(decided - started)
            } else {
                let d = await gate.decide(token, item: item ?? "")
                let decided = ContinuousClock.now
                // Kept before it is shown: a decision the gate acted on is never missing from the journal.
                try? await journal.record(d)
                let reason = d.reason.map { #","reason":"\#($0)""# } ?? ""
                say(#"{"decisionId":"\#(d.id)","decision":"\#(d.decision)"\#(reason)}"#)
                decideTimes.append(decided - started)
            }
            shownTimes.append(ContinuousClock.now - started)
        }
        // Let a sync or upload in flight finish first, so the last upload never runs beside it.
        background.cancel()
        await background.value
        if !decideTimes.isEmpty {
            FileHandle.standardError.write(Data("onecard terminal: \(decideTimes.count) decisions, decision time \(Self.percentiles(decideTimes)); kept and shown \(Self.percentiles(shownTimes))\n".utf8))
        }
        // On the way out, try once more to hand everything to the node.
        await gate.upload()
        await gate.uploadTaps()
        if place != nil {
            let left = (try? await journal.tapsToUpload()) ?? 0
            FileHandle.standardError.write(Data("onecard terminal: \(left) tap(s) still to upload\n".utf8))
        } else {
            let left = (try? await journal.count(uploaded: false)) ?? 0
            FileHandle.standardError.write(Data("onecard terminal: \(left) decision(s) still to upload\n".utf8))
        }
        await journal.close()
    }
}

extension TerminalCommand {
    /// "p50 … µs, p99 … µs, max … µs" of a run's times.
    static func percentiles(_ times: [Duration]) -> String {
        let µs = times.map { Double($0.components.seconds) * 1e6 + Double($0.components.attoseconds) / 1e12 }.sorted()
        func p(_ q: Double) -> String { String(format: "%.0f", µs[min(µs.count - 1, Int((Double(µs.count) * q).rounded(.up)) - 1)]) }
        return "p50 \(p(0.5)) µs, p99 \(p(0.99)) µs, max \(p(1)) µs"
    }
}

/// The gate's state: a verifier fed from the node's trust list and revocations, saved in the journal.
actor Gate {
    let base: URL
    let key: String
    let journal: TerminalJournal
    private var verifier: QRVerifier?
    /// Where the gate keeps its revocation store (beside its journal).
    let revocationsPath: String
    /// The region of the node whose revocation list the gate follows (learnt from the first list it applied).
    private var nodeIssuer: String?
    /// NIO, one connection per request with a deadline over the whole exchange: Foundation's URLSession on
    /// Linux could hang past its own timeouts after the node went away, and keep the gate from exiting.
    private let http = HTTPClient1(timeout: .seconds(5))

    /// The gate's key on its syncs too: the node then counts them against this terminal's allowance, not against the
    /// address many gates of one station may share.
    private var auth: [(String, String)] { [("Authorization", "Bearer \(key)")] }

    /// When set, the trust list must be the hub's signed national list.
    let hubKey: Curve25519.Signing.PublicKey?

    /// An acceptance gate's catalogue item, and the entitlement codes it requires as the published catalogue last said
    /// (`requires`; nil until the gate has read the catalogue once, then nothing is refused for it).
    let item: String?
    private var requires: [String]?

    init(base: URL, key: String, journal: TerminalJournal, storePath: String, hubKey: Curve25519.Signing.PublicKey? = nil, item: String? = nil) {
        self.base = base; self.key = key; self.journal = journal; self.hubKey = hubKey; self.item = item
        revocationsPath = storePath + ".revocations"
    }

    /// The trust list: the node's JWKS, or with a hub key the hub-signed national list (refused unless the hub signed it).
    private func fetchTrustList() async -> (JWKS, Data)? {
        if let hubKey {
            guard let r = try? await http.send("GET", base.appendingPathComponent("api/v1/trust/jwks.jws").absoluteString, headers: auth), r.status == 200,
                  let document = try? TrustListDocument.open(signed: String(decoding: r.body, as: UTF8.self), hubKey: hubKey) else { return nil }
            let jwks = document.jwks
            return (jwks, jwks.json())
        }
        guard let r1 = try? await http.send("GET", base.appendingPathComponent("api/v1/trust/jwks").absoluteString, headers: auth), r1.status == 200,
              let jwks = try? JWKS(json: r1.body) else { return nil }
        return (jwks, r1.body)
    }

    /// Loads the trust list and revocations synced before, so a restart with the node down still decides.
    func restore() async {
        if let saved = try? await journal.state("requires") { requires = try? JSONDecoder().decode([String].self, from: Data(saved.utf8)) }
        guard let jwks = try? await journal.state("jwks"), let v = try? QRVerifier(trustListJSON: Data(jwks.utf8)) else { return }
        do { try v.loadRevocations(from: revocationsPath) } catch .missing {
            // A gate saved by an older release kept every document it applied as JSON in its journal.
            if let docs = try? await journal.state("revocations"), let list = try? JSONDecoder().decode([RevocationDocument].self, from: Data(docs.utf8)) {
                v.apply(list)
            }
        } catch {
            // A damaged list is no list: the gate decides nothing offline until a sync brings the list again.
            FileHandle.standardError.write(Data("onecard terminal: revocation store refused (\(error)); waiting for the node's list\n".utf8))
            return
        }
        // Incident mode as the node last said (issue 17): a gate restarted while it lasts still decides nothing offline.
        if let issuer = try? await journal.state("incident"), !issuer.isEmpty {
            v.apply(RevocationDocument(seq: 0, iss: issuer, entries: [], incident: true))
        }
        // Tokens accepted before the restart are replays still: feed the verifier's replay cache with every
        // acceptance within the longest lifetime a token may have.
        let since = Date().addingTimeInterval(-v.configuration.maxTokenLifetime - v.configuration.skew)
        for (token, at) in (try? await journal.acceptedTokens(since: since)) ?? [] {
            _ = v.verify(token, at: at)
        }
        for (credential, at) in (try? await journal.acceptedTapTokens(since: since)) ?? [] {
            if let o = try? JSONSerialization.jsonObject(with: Data(credential.utf8)) as? [String: String], let token = o["token"] { _ = v.verify(token, at: at) }
        }
        verifier = v
    }

    func sync() async {
        guard let (jwks, jwksData) = await fetchTrustList() else { return }
        if let v = verifier { v.replaceTrustList(jwks) } else {
            verifier = QRVerifier(trustList: jwks)
            FileHandle.standardError.write(Data("onecard terminal: trust list synced from the node\n".utf8))
        }
        try? await journal.setState("jwks", String(decoding: jwksData, as: UTF8.self))
        if let v = verifier, !v.hasRevocationList { await loadSnapshot(v) }
        // The node numbers its list (its own and merged regions' entries) in its own sequence, under its own `iss`.
        // A page holds at most 10,000 entries: a gate far behind reads on until it has caught up.
        for _ in 0..<100 {
            let since = verifier?.lastSequence(issuer: nodeIssuer ?? jwks.keys.first?.iss) ?? 0
            var url = URLComponents(url: base.appendingPathComponent("api/v1/trust/revocations.jws"), resolvingAgainstBaseURL: false)!
            url.queryItems = [URLQueryItem(name: "since", value: String(since))]
            guard let r2 = try? await http.send("GET", url.url!.absoluteString, headers: auth), r2.status == 200,
                  let doc = try? RevocationDocument.open(signed: String(decoding: r2.body, as: UTF8.self), trust: jwks) else { return }
            let applied = verifier?.apply(doc) ?? false
            nodeIssuer = doc.iss
            try? await journal.setState("incident", doc.incident == true ? (doc.iss ?? "") : "")
            if !applied || doc.entries.count < 10_000 { break }
        }
        // The compact store (`<store>.revocations`), not the JSON of every document: its table file is rewritten only
        // after the overlay was merged.
        try? verifier?.saveRevocations(to: revocationsPath)
        await syncRequires()
    }

    /// A gate holding no list (its first start, or its store refused) loads the node's whole list as one signed snapshot
    /// (`GET /api/v1/trust/revocations/snapshot`, issue 18: ten million cards in one download) instead of every delta since
    /// 0, installs it as its store and follows deltas from its `seq`. A snapshot that does not verify against the trust list
    /// (altered, cut, signed by a stranger) is refused whole and changes nothing: the gate then follows deltas from 0.
    private func loadSnapshot(_ v: QRVerifier) async {
        let started = ContinuousClock.now
        let url = base.appendingPathComponent("api/v1/trust/revocations/snapshot").absoluteString
        // Streamed to a file beside the store and read into place: ten million cards take the table's 54 MB, not the
        // body's as well (issue 18: the gate's store under 64 MB in memory).
        guard let download = try? v.snapshotDownload(storePath: revocationsPath) else { return }
        let received = NIOLockedValueBox(0)
        let answer = try? await HTTPClient1(timeout: .seconds(300)).download("GET", url, headers: auth) { part in
            try part.withUnsafeReadableBytes { try download.receive($0) }
            received.withLockedValue { $0 += part.readableBytes }
        }
        guard answer?.status == 200 else { download.abandon(); return }
        do {
            let (_, header) = try download.finish()
            nodeIssuer = header.iss
            try? await journal.setState("incident", header.incident == true ? (header.iss ?? "") : "")
            try? v.saveRevocations(to: revocationsPath)
            let elapsed = (ContinuousClock.now - started).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            FileHandle.standardError.write(Data("onecard terminal: revocation snapshot loaded: \(header.cards) cards up to seq \(header.seq), \(received.withLockedValue { $0 }) bytes, in \(String(format: "%.2f", seconds)) s\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("onecard terminal: revocation snapshot refused (\(error)); following deltas from 0\n".utf8))
        }
    }

    /// What the gate's item requires of the holder (the public catalogue's `requires`), kept for restarts with the node down.
    private func syncRequires() async {
        guard let item, let r = try? await http.send("GET", base.appendingPathComponent("api/v1/catalogue").absoluteString, headers: auth),
              r.status == 200, let published = try? JSONDecoder().decode(PublishedCatalogue.self, from: r.body) else { return }
        let wanted = published.items.first { $0.code == item }?.requires ?? []
        requires = wanted
        if let data = try? JSONEncoder().encode(wanted) { try? await journal.setState("requires", String(decoding: data, as: UTF8.self)) }
    }

    private struct PublishedCatalogue: Decodable { var items: [CatalogueItem] }

    func decide(_ token: String, item: String) -> GateDecision {
        let now = Date()
        let decision: Decision = verifier?.verify(token, at: now) ?? .denied(.unknownIssuer)
        let reason: String? = switch decision {
        // The token's `ent` is what the gate knows of the holder: the item's `requires` is checked against it by the node's
        // own rule. A token listed by `jti` was revoked while it was out: its card changed, or a certificate behind its
        // `ent` was revoked (the holder shows a fresh code).
        case .valid(let claims): AcceptanceRules.concessionDenial(requires: requires, entitlements: claims.ent)?.rawValue
        case .denied(.tokenRevoked): Self.jti(of: token).flatMap { verifier?.revocation(ofToken: $0) } == .entitlementsChanged
            ? DenialCode.tokenRevoked.rawValue : DenialCode.cardLost.rawValue
        case .denied(let r): r.rawValue
        }
        return .init(id: UUID().uuidString.lowercased(), itemCode: item, token: token, decidedAt: now,
                     decision: reason == nil ? "accepted" : "denied", reason: reason)
    }

    /// A signed token's `jti` (its payload read without checking: the verifier already did).
    static func jti(of token: String) -> String? {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var b64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return o["jti"] as? String
    }

    /// A transit tap: a QR token verified offline (trust list, revocations, this gate's replay cache), or a physical card's
    /// read, checked against the revocation list (the chip's answer is checked by the node when the tap arrives: the gate
    /// holds no key to check it).
    func decideTap(_ line: String, operator code: String, station: String, direction: TapDirection) -> GateTap {
        let now = Date()
        let id = UUID().uuidString.lowercased()
        let credential: [String: String]
        var reason: String?
        if let card = GateTap.cardLine(line) {
            credential = ["kind": "card", "cardNumber": card.number.rawValue, "challenge": card.challenge, "response": card.response]
            if verifier?.revocation(ofCard: card.number) != nil { reason = "card_lost" } else if verifier == nil { reason = "unknown_issuer" }
        } else {
            credential = ["kind": "qr", "token": line]
            switch verifier?.verify(line, at: now) ?? .denied(.unknownIssuer) {
            case .valid: break
            case .denied(.tokenRevoked): reason = "card_lost"
            case .denied(let r): reason = r.rawValue
            }
        }
        let json = (try? JSONSerialization.data(withJSONObject: credential, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return GateTap(id: id, operatorCode: code, station: station, direction: direction, at: now, credential: json,
                       decision: reason == nil ? "accepted" : "denied", reason: reason)
    }

    /// RFC 3339 with milliseconds: taps a second apart or less keep their order.
    static func preciseTime(_ date: Date) -> String { Timestamp.formatMillis(date) }

    /// Uploads the taps the gate let through, 500 at a time (`POST /api/v1/transit/taps`); every answer for a tap (taken,
    /// a duplicate, rejected) is final, so the batch is marked uploaded. Stops at the first failure.
    func uploadTaps() async {
        while let batch = try? await journal.pendingTaps(limit: 500), !batch.isEmpty {
            let body: [String: Any] = ["taps": batch.map { t -> [String: Any] in
                ["tapId": t.id, "at": Self.preciseTime(t.at), "operator": t.operatorCode, "station": t.station, "direction": t.direction.rawValue,
                 "credential": (try? JSONSerialization.jsonObject(with: Data(t.credential.utf8))) ?? [:]]
            }]
            guard let json = try? JSONSerialization.data(withJSONObject: body),
                  let response = try? await http.send("POST", base.appendingPathComponent("api/v1/transit/taps").absoluteString,
                                                      headers: [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")], body: json),
                  response.status == 200 else { return }
            try? await journal.markTapsUploaded(batch.map(\.id))
        }
    }

    /// Uploads what the node does not have yet, 500 at a time; stops at the first failure.
    func upload() async {
        while let batch = try? await journal.pending(limit: 500), !batch.isEmpty {
            let body: [String: Any] = ["decisions": batch.map { d -> [String: Any] in
                var o: [String: Any] = ["decisionId": d.id, "itemCode": d.itemCode, "token": d.token,
                                        "decidedAt": Timestamp.format(d.decidedAt), "decision": d.decision]
                if let r = d.reason { o["reason"] = r }
                return o
            }]
            guard let json = try? JSONSerialization.data(withJSONObject: body),
                  let response = try? await http.send("POST", base.appendingPathComponent("api/v1/acceptances/batch").absoluteString,
                                                      headers: [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json")], body: json),
                  response.status == 200 else { return }
            try? await journal.markUploaded(batch.map(\.id))
        }
    }
}

/// Standard input, line by line, read on its own thread so a waiting gate blocks nothing else.
struct StandardInputLines: AsyncSequence {
    typealias Element = String
    func makeAsyncIterator() -> AsyncStream<String>.Iterator {
        AsyncStream<String> { continuation in
            let thread = Thread {
                while let line = readLine(strippingNewline: true) { continuation.yield(line) }
                continuation.finish()
            }
            thread.start()
        }.makeAsyncIterator()
    }
}
