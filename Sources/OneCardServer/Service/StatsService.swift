import Foundation
import OneCardCore
import OneCardStore

/// Statistics and the oversight report (ZJ art. 22: the people's congress hears a special work report): the figures
/// of a period from the records themselves (cards, e-cards, uses, complaints, cases, payments).
struct StatsService: Sendable {
    let store: Store
    let clock: Clock
    let catalogue: CatalogueService

    func report(from: CalendarDay, to: CalendarDay, by grain: StatisticsGrain) async throws -> StatisticsReport {
        let (start, end) = try Statistics.window(from: from, to: to)
        let now = clock.now()
        // Item code → domain from the published catalogue (every version's codes keep their domain).
        let domains = Dictionary(try await catalogue.published().items.map { ($0.code, $0.domain.rawValue) }, uniquingKeysWith: { a, _ in a })
        return try await store.read { s in
            let cards = try await s.stats.cardsByStatus(from: start, to: end)
            let ecards = try await s.stats.activeECards(from: start, to: end)
            let uses = try await s.stats.uses(from: start, to: end)
            let regions = try await s.stats.venueRegions()
            var byDomain: [String: Int64] = [:], byRegion: [String: Int64] = [:], total: Int64 = 0, cross: Int64 = 0
            for u in uses {
                total += u.count
                if u.crossRegion { cross += u.count }
                byDomain[domains[u.item] ?? "other", default: 0] += u.count
                // A use reported by another province's platform names a venue this node does not keep: "other".
                byRegion[regions[u.venue].map { RegionTable.province(of: $0) } ?? "other", default: 0] += u.count
            }
            let c = try await s.stats.complaints(from: start, to: end, now: now)
            let cases = try await s.stats.cases(from: start, to: end)
            let payments = try await s.stats.payments(from: start, to: end)
            let daily = try await s.stats.daily(from: start, to: end)
            return StatisticsReport(
                from: from.description, to: to.description,
                cards: .init(byStatus: Dictionary(cards, uniquingKeysWith: +)), ecards: .init(active: ecards),
                uses: .init(total: total, byDomain: byDomain, byRegion: byRegion, crossRegion: cross),
                complaints: .init(total: c.byKind.reduce(0) { $0 + $1.1 }, byKind: Dictionary(c.byKind, uniquingKeysWith: +),
                                  onTimeRate: Statistics.rate(c.onTime, of: c.onTime + c.late), satisfiedRate: Statistics.rate(c.satisfied, of: c.rated)),
                cases: .init(total: cases.opened, fineFen: cases.fineFen), payments: .init(count: payments.count, paidFen: payments.paidFen),
                series: Statistics.series(from: from, to: to, by: grain, uses: daily.uses, complaints: daily.complaints, payments: daily.payments))
        }
    }
}
