import ArgumentParser
import Crypto
import Foundation
import OneCardCore
import OneCardVerifier

/// `onecard bench revocations`: the gate's revocation store at a province's scale (issue 18), in one process, each figure
/// beside a limit measured in the same run: a signed snapshot of N revoked cards verified and loaded as a gate does, the
/// table's size on disk and the process's memory, look-ups of listed and unlisted cards against the same look-ups in a
/// plain `Set<UInt64>` of the same keys, and the cost of applying a delta, merging it and saving the store.
/// `Benchmarks/revocation_store.sh` runs it; the from-empty delivery over HTTP is measured there with a real node.
struct BenchRevocations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revocations", abstract: "Measure the gate's revocation store at N revoked cards.")
    @Option(help: "Revoked cards in the table.") var cards: Int = 10_000_000
    @Option(help: "Look-ups of each kind (listed, unlisted) timed one by one.") var lookups: Int = 200_000
    @Option(help: "Card entries in the delta applied.") var delta: Int = 10_000
    @Option(help: "A folder for the store files (a fresh temporary one by default).") var dir: String?

    /// A card's hash as `CardNumber.hash` spells it (hex SHA-256), for card i of the synthetic list.
    static func hash(_ i: Int) -> String {
        withUnsafeBytes(of: UInt64(i).littleEndian) { Hex.encode(SHA256.hash(data: $0)) }
    }

    static func rssKB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// p50 and p99 of one-by-one timings, in nanoseconds.
    static func percentiles(_ ns: [Double]) -> (p50: Double, p99: Double) {
        let s = ns.sorted()
        return (s[s.count / 2], s[min(s.count - 1, Int(Double(s.count) * 0.99))])
    }

    func run() async throws {
        let folder = dir ?? NSTemporaryDirectory() + "onecard-revbench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/gate.revocations"
        let clock = ContinuousClock()
        let baseline = Self.rssKB()
        print("cards: \(cards)")

        // The node's side: a snapshot of N cards (what GET /api/v1/trust/revocations/snapshot serves).
        let ring = SigningKeyRing(region: "110000", createdAt: Date())
        var t = clock.now
        var builder = RevocationTableBuilder(capacity: cards)
        for i in 0..<cards { builder.add(cardHash: Self.hash(i), status: i % 7 == 0 ? .temporarilyLost : .lost) }
        let (table, listed) = builder.finish()
        let body = RevocationSnapshot.body(table: table, seq: Int64(cards), iss: "110000", cards: listed, tokens: [], incident: nil, key: ring.current)
        print(String(format: "snapshot_build_s: %.2f", Self.seconds(clock.now - t)))
        print("snapshot_bytes: \(body.count)")

        // The gate's side: verify and load it, save it as the store.
        let gate = QRVerifier(trustList: ring.jwks(at: Date()))
        t = clock.now
        try gate.apply(snapshot: body)
        print(String(format: "snapshot_verify_load_s: %.2f", Self.seconds(clock.now - t)))
        t = clock.now
        try gate.saveRevocations(to: path)
        print(String(format: "store_save_s: %.2f", Self.seconds(clock.now - t)))
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print("store_file_bytes: \(size)")
        print(String(format: "store_bytes_per_card: %.2f", Double(size) / Double(max(listed, 1))))
        // A gate restarting reads it back.
        let restarted = QRVerifier(trustList: ring.jwks(at: Date()))
        t = clock.now
        try restarted.loadRevocations(from: path)
        print(String(format: "store_load_s: %.2f", Self.seconds(clock.now - t)))
        _ = consume body
        _ = consume table
        _ = consume restarted
        let afterLoad = Self.rssKB()
        print("rss_baseline_kb: \(baseline)")
        print("rss_with_table_kb: \(afterLoad)")

        // Look-ups, one by one, of cards on the list and off it, in a random order.
        var generator = SystemRandomNumberGenerator()
        let inList = (0..<lookups).map { _ in Self.hash(Int.random(in: 0..<cards, using: &generator)) }
        let offList = (0..<lookups).map { i in Self.hash(cards + i) }
        func time(_ hashes: [String], _ look: (String) -> Bool) -> (p50: Double, p99: Double, found: Int) {
            var ns = [Double](repeating: 0, count: hashes.count)
            var found = 0
            for (i, h) in hashes.enumerated() {
                let s = clock.now
                if look(h) { found += 1 }
                ns[i] = Self.seconds(clock.now - s) * 1e9
            }
            let p = Self.percentiles(ns)
            return (p.p50, p.p99, found)
        }
        // Warm both paths once, then measure.
        _ = time(Array(inList.prefix(1000)), { gate.revocation(ofCardHash: $0) != nil })
        let tableListed = time(inList) { gate.revocation(ofCardHash: $0) != nil }
        let tableUnlisted = time(offList) { gate.revocation(ofCardHash: $0) != nil }
        // The limit: the same keys in a Swift Set (no lock, no 5-byte words; about 16+ bytes a card).
        let beforeSet = Self.rssKB()
        var set = Set<UInt64>(minimumCapacity: cards)
        for i in 0..<cards { set.insert(QRVerifier.cardKey(hash: Self.hash(i))!) }
        let setKB = Self.rssKB() - beforeSet
        _ = time(Array(inList.prefix(1000)), { set.contains(QRVerifier.cardKey(hash: $0)!) })
        let setListed = time(inList) { set.contains(QRVerifier.cardKey(hash: $0)!) }
        let setUnlisted = time(offList) { set.contains(QRVerifier.cardKey(hash: $0)!) }
        print(String(format: "lookup_listed_ns: p50 %.0f p99 %.0f (found %d of %d); set limit p50 %.0f p99 %.0f; ratio p50 %.2f p99 %.2f",
                     tableListed.p50, tableListed.p99, tableListed.found, lookups, setListed.p50, setListed.p99,
                     tableListed.p50 / setListed.p50, tableListed.p99 / setListed.p99))
        print(String(format: "lookup_unlisted_ns: p50 %.0f p99 %.0f (found %d of %d); set limit p50 %.0f p99 %.0f; ratio p50 %.2f p99 %.2f",
                     tableUnlisted.p50, tableUnlisted.p99, tableUnlisted.found, lookups, setUnlisted.p50, setUnlisted.p99,
                     tableUnlisted.p50 / setUnlisted.p50, tableUnlisted.p99 / setUnlisted.p99))
        print("set_rss_kb: \(setKB) (capacity \(set.capacity) keys)")
        _ = consume set

        // A delta: new losses and found cards, applied to the overlay, then merged into the array and saved.
        let at = Date()
        let entries = (0..<delta).map { i in
            i % 4 == 0 ? RevocationEntry(.card(hash: Self.hash(i * 13)), status: .active, at: at)
                : RevocationEntry(.card(hash: Self.hash(cards + lookups + i)), status: .lost, at: at)
        }
        let document = RevocationDocument(seq: Int64(cards + 1), iss: "110000", entries: entries)
        t = clock.now
        gate.apply(document)
        let applySeconds = Self.seconds(clock.now - t)
        t = clock.now
        try gate.saveRevocations(to: path)
        let stateSave = Self.seconds(clock.now - t)
        t = clock.now
        let after = gate.revokedCardCount   // merges the overlay into the array
        let mergeSeconds = Self.seconds(clock.now - t)
        t = clock.now
        try gate.saveRevocations(to: path)
        let fullSave = Self.seconds(clock.now - t)
        print(String(format: "delta_apply: %d entries in %.1f ms (%.0f ns an entry)", delta, applySeconds * 1e3, applySeconds * 1e9 / Double(delta)))
        print(String(format: "delta_state_save_ms: %.1f", stateSave * 1e3))
        print(String(format: "delta_merge_ms: %.1f (cards now %d)", mergeSeconds * 1e3, after))
        print(String(format: "table_save_after_merge_ms: %.1f", fullSave * 1e3))
        if dir == nil { try? FileManager.default.removeItem(atPath: folder) }
    }
}
