import Crypto
import Foundation
import OneCardCore
import OneCardStore
import SQLKit

/// What `onecard bench-transit` needs of the platform: a seeded node (holders with cards, the Beijing metro and bus,
/// a transit gate), a day of taps as upload bodies, and the limit — raw inserts of as many tap rows. A service of its
/// own (as `PopulateService` is for `bench populate`): the benchmark's transactions stay in the server's service layer.
public struct TransitBenchService: Sendable {
    let services: AppServices

    public init(_ services: AppServices) { self.services = services }

    public struct Seeded: Sendable {
        public var gateKey: String
        public var cards: [CardNumber]
    }

    /// Seeds `cards` holders with active cards at the bank `BENCH` (every fifth born in 1950: free on Beijing buses), the
    /// catalogue, a transit venue with a terminal, and the metro and bus operators with stations. Not timed.
    public func seed(cards n: Int, bankURL: String) async throws -> Seeded {
        var numbers: [CardNumber] = []
        var seen = Set<String>()
        while numbers.count < n {
            let c = CardNumber.random(services.random)
            if seen.insert(c.rawValue).inserted { numbers.append(c) }
        }
        let cardNumbers = numbers
        let issued = Timestamp.millis(services.clock.now()) - 86_400_000 * 30
        try await BenchHolderService(services).seed(bankURL: bankURL, count: n) { i in
            BenchHolder(personId: "tb\(i)", idNumber: "tb-\(i)", birthDate: i % 5 == 0 ? "1950-06-01" : "1985-06-01",
                        cardNumber: cardNumbers[i].rawValue, account: "621" + String(format: "%016d", i), issuedAt: issued)
        }
        try await services.catalogue.seedIfEmpty(by: "bench")
        let venue = try await services.venues.create(.init(name: "基准闸机", operatorUscc: "12110105MB0000001" + String(UnifiedSocialCreditCode.checkCharacter(for: Array("12110105MB0000001"))!), type: .transit, regionCode: "110105",
                                                           address: "基准路 1 号", accessibility: [], unifiedLogo: true, itemCodes: ["JJJ-TRN-001"]), by: "bench")
        let terminal = try await services.venues.createTerminal(venueId: venue.id, by: "bench")
        for code in ["BJ-METRO", "BJ-BUS"] {
            let preset = TransitPresets.fare(code)!
            var table = preset.fareTable
            table.stations = TransitDemo.stations[code]
            _ = try await services.transit.createOperator(.init(code: code, name: preset.name, regionCode: preset.regionCode, mode: preset.mode.rawValue,
                                                                account: .init(bankCode: "BENCH", accountNumber: "6222000011112222333"),
                                                                fareTable: .init(table)), by: "bench")
        }
        try await services.store.write { s in try await s.db.raw("ANALYZE").run() }
        return Seeded(gateKey: terminal.apiKey, cards: cardNumbers)
    }

    /// A day of rides yesterday, `ridesPerCard` per card, two taps each (metro and bus by stations), each with the card's
    /// chip answer to a fresh challenge: upload bodies of `batchSize` taps, made as they are asked for (a million taps are
    /// not held in memory), in time order except `lateShare` of the exit taps, which come last (a gate that was offline).
    public final class Uploads: @unchecked Sendable {
        private let lock = NSLock()
        private let cards: [CardNumber], keys: [SymmetricKey], order: [Int]
        private let rides: Int, lateShare: Double, batchSize: Int, random: RandomSource, dayStart: Date
        private let metro = Array(TransitDemo.stations["BJ-METRO"]!.keys).sorted(), bus = Array(TransitDemo.stations["BJ-BUS"]!.keys).sorted()
        private var slot = 0, exits = false, index = 0, lateIndex = 0, n = 0
        private var late: [String] = []
        public var total: Int { cards.count * rides * 2 }

        init(_ services: AppServices, cards: [CardNumber], ridesPerCard: Int, lateShare: Double, batchSize: Int) {
            let chips = ChipKeyDeriver(master: services.keys.chipMaster)
            self.cards = cards; keys = cards.map { chips.key(for: $0) }; rides = ridesPerCard; self.lateShare = lateShare; self.batchSize = batchSize
            random = services.random; dayStart = services.clock.now().addingTimeInterval(-86_400)
            order = cards.indices.sorted { ($0 % 600, $0) < ($1 % 600, $1) }
        }

        /// The next upload body, or nil when every tap was handed out.
        public func next() -> Data? {
            lock.lock(); defer { lock.unlock() }
            var taps: [String] = []
            while taps.count < batchSize, let tap = nextTap() { taps.append(tap) }
            return taps.isEmpty ? nil : Data((#"{"taps":["# + taps.joined(separator: ",") + "]}").utf8)
        }

        private func nextTap() -> String? {
            while slot < rides {
                guard index < order.count else {
                    if exits { slot += 1; exits = false } else { exits = true }
                    index = 0
                    continue
                }
                let c = order[index]
                index += 1
                let r = slot
                let isBus = r % 3 == 2
                let (code, stations) = isBus ? ("BJ-BUS", bus) : ("BJ-METRO", metro)
                let start = dayStart.addingTimeInterval(Double(r) * 3000 + Double(c % 600))
                if !exits { return tap(c, code, start, stations[(c + r) % stations.count], "in") }
                let exit = tap(c, code, start.addingTimeInterval(1200), stations[(c + r * 7 + 3) % stations.count], "out")
                if Double((c * 31 + r * 17) % 1000) < lateShare * 1000 { late.append(exit); continue }
                return exit
            }
            guard lateIndex < late.count else { return nil }
            lateIndex += 1
            return late[lateIndex - 1]
        }

        private func tap(_ c: Int, _ code: String, _ at: Date, _ station: String, _ direction: String) -> String {
            n += 1
            let challenge = Data(random.bytes(16))
            let response = Data(HMAC<SHA256>.authenticationCode(for: challenge, using: keys[c]))
            let credential = #"{"kind":"card","cardNumber":"\#(cards[c].rawValue)","challenge":"\#(challenge.base64EncodedString())","response":"\#(response.base64EncodedString())"}"#
            return #"{"tapId":"b\#(n)","at":"\#(Timestamp.format(at))","operator":"\#(code)","station":"\#(station)","direction":"\#(direction)","credential":\#(credential)}"#
        }
    }

    public func uploads(cards: [CardNumber], ridesPerCard: Int, lateShare: Double, batchSize: Int) -> Uploads {
        Uploads(services, cards: cards, ridesPerCard: ridesPerCard, lateShare: lateShare, batchSize: batchSize)
    }

    /// The limit: raw multi-row inserts of `count` tap-shaped rows into a scratch table in the same database (500 rows per
    /// statement, 5,000 per transaction).
    public func rawInserts(count n: Int) async throws -> Duration {
        let store = services.store
        try await store.write { s in
            try await s.db.raw("""
                CREATE TABLE bench_raw_taps (tap_id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL, operator_code TEXT NOT NULL, station TEXT, route TEXT,
                    distance_m BIGINT, direction TEXT NOT NULL, at BIGINT NOT NULL, kind TEXT NOT NULL, card_number TEXT, person_id TEXT,
                    entitlements TEXT NOT NULL, rejection TEXT, lost_at_time BIGINT NOT NULL, jti TEXT, trip_id TEXT, received_at BIGINT NOT NULL)
                """).run()
        }
        let now = Timestamp.millis(Date())
        let started = ContinuousClock.now
        for start in stride(from: 0, to: n, by: 5000) {
            try await store.write { s in
                for part in stride(from: start, to: min(start + 5000, n), by: 500) {
                    var insert = s.db.insert(into: "bench_raw_taps").columns("tap_id", "terminal_id", "operator_code", "station", "route", "distance_m",
                                                                             "direction", "at", "kind", "card_number", "person_id", "entitlements",
                                                                             "rejection", "lost_at_time", "jti", "trip_id", "received_at")
                    for i in part..<min(part + 500, n) {
                        insert = insert.values([SQLBind("r\(i)"), SQLBind("t"), SQLBind("BJ-METRO"), SQLBind("国贸"), SQLBind(String?.none),
                                                SQLBind(Int64?.none), SQLBind(i % 2 == 0 ? "in" : "out"), SQLBind(now + Int64(i)), SQLBind("card"),
                                                SQLBind("c\(i / 20)"), SQLBind("tb\(i / 20)"), SQLBind("[]"), SQLBind(String?.none), SQLBind(Int64(0)),
                                                SQLBind(String?.none), SQLBind(String?.none), SQLBind(now)])
                    }
                    try await insert.run()
                }
            }
        }
        let took = ContinuousClock.now - started
        try await store.write { s in try await s.db.raw("DROP TABLE bench_raw_taps").run() }
        return took
    }

    /// Trips per status now.
    public func tripCounts() async throws -> [String: Int] {
        try await services.store.read { s in
            var out: [String: Int] = [:]
            for r in try await s.db.raw("SELECT status, COUNT(*) AS n FROM transit_trips GROUP BY status").all() {
                out[try r.decode(column: "status", as: String.self)] = Int(try r.decode(column: "n", as: Int64.self))
            }
            return out
        }
    }

    /// Accepted taps not yet in a trip, and the sum charged by charged trips.
    public func progress() async throws -> (unpaired: Int, chargedFen: Int64, positiveTrips: Int) {
        try await services.store.read { s in
            let unpaired = try await s.db.raw("SELECT COUNT(*) AS n FROM transit_taps WHERE trip_id IS NULL AND rejection IS NULL").first()?
                .decode(column: "n", as: Int64.self) ?? 0
            let row = try await s.db.raw("""
                SELECT CAST(COALESCE(SUM(charged_fen), 0) AS BIGINT) AS fen, COUNT(*) AS n FROM transit_trips WHERE status = 'charged' AND charged_fen > 0
                """).first()
            return (Int(unpaired), try row?.decode(column: "fen", as: Int64.self) ?? 0, Int(try row?.decode(column: "n", as: Int64.self) ?? 0))
        }
    }
}
