import Foundation
import OneCardCore
import SQLKit

/// One schema change, applied once, recorded in `schema_migrations`. Append-only: never edit one
/// that has shipped; add the next.
public struct Migration: Sendable {
    public let name: String
    public let statements: [String]
    public init(_ name: String, _ statements: [String]) { self.name = name; self.statements = statements }
}

/// Every migration, in the order it runs.
public enum Migrations {
    public static let all: [Migration] = [
        m001CreateRegistry,
        m002CreateCards,
        m003CreateAudit,
        m004CreateECards,
        m005CreateCatalogueAndVenues,
        m020CreatePayments,
        m021PaymentBatchTotals,
        m022PaymentIndexesForHotUpdates,
        m023NotificationsAsKindAndParameters,
        m024OfflineDecisionKeysApart,
        m025Federation,
        m026AuditCheckpoints,
        m027SignInAttempts,
        m028Transit,
        m029Medical,
        m030Service,
        m031Risk,
        m032ComplaintForwarding,
        m033MedicalReconciliations,
        m034TransitAcrossRegions,
        m035LifecycleRequests,
        m036Privacy,
        m037Certificates,
        m038Records,
        m039Pension,
        m040PartnerCodes,
        m041MedicalClaims,
        m042PensionQualification,
        m043QRSigningKeys,
        m044TransitTripTaps,
    ]

    static let bookkeeping = "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
}

extension Store {
    /// Names of migrations not yet applied.
    public func pendingMigrations() async throws -> [String] {
        let applied: Set<String>
        do {
            applied = try await read { s in
                Set(try await s.db.raw("SELECT name FROM schema_migrations").all().map { try $0.string("name") })
            }
        } catch {
            // No bookkeeping table yet: nothing has been applied.
            return Migrations.all.map(\.name)
        }
        return Migrations.all.map(\.name).filter { !applied.contains($0) }
    }

    /// Applies every pending migration, each in its own transaction, or only those up to and including `last` (how
    /// a test makes a database as an earlier release left it, to upgrade it). Returns what ran.
    @discardableResult
    public func migrate(through last: String? = nil, clock: Clock = .system) async throws -> [String] {
        var upTo = Migrations.all.count
        if let last {
            guard let i = Migrations.all.firstIndex(where: { $0.name == last }) else { throw ConfigurationError("no migration named \(last)") }
            upTo = i + 1
        }
        try await write { s in try await s.db.raw(SQLQueryString(Migrations.bookkeeping)).run() }
        var ran: [String] = []
        for m in Migrations.all.prefix(upTo) {
            let done = try await write { s -> Bool in
                let rows = try await s.db.raw("SELECT name FROM schema_migrations WHERE name = \(bind: m.name)").all()
                guard rows.isEmpty else { return false }
                for statement in m.statements {
                    guard let sql = s.dialect.ddl(statement) else { continue }
                    try await s.db.raw(SQLQueryString(sql)).run()
                }
                try await s.db.raw("INSERT INTO schema_migrations (name, applied_at) VALUES (\(bind: m.name), \(bind: clock.now().millis))").run()
                return true
            }
            if done { ran.append(m.name) }
        }
        return ran
    }
}
