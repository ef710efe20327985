import Foundation
import OneCardCore
import SQLKit

/// The HR&SS electronic file library: records on persons, the free details sealed like other personal data.
public struct HRRecordRepository: Sendable {
    let db: any SQLDatabase
    let cipher: FieldCipher

    public func insert(_ r: HRRecord) async throws {
        let c = r.contract
        try await db.raw("""
            INSERT INTO hr_records (id, person_id, type, title, issuer, issued_at, valid_until, details_enc, employer_uscc, starts_on, ends_on,
                                    ends_at, employer_signed_at, employer_signed_via, worker_signed_at, recorded_by, recorded_at)
            VALUES (\(bind: r.id), \(bind: r.personId), \(bind: r.type.rawValue), \(bind: r.title), \(bind: r.issuer), \(bind: r.issuedAt.description),
                    \(bind: r.validUntil?.description), \(bind: r.details.map { cipher.seal($0, field: "record_details") }),
                    \(bind: c?.employerUscc), \(bind: c?.startsOn.description), \(bind: c?.endsOn?.description), \(bind: c?.endsAt?.millis),
                    \(bind: c?.employerSignedAt.millis), \(bind: c?.employerSignedVia), \(bind: c?.workerSignedAt?.millis),
                    \(bind: r.recordedBy), \(bind: r.recordedAt.millis))
            """).run()
    }

    public func find(_ id: String) async throws -> HRRecord? {
        try await db.raw("SELECT * FROM hr_records WHERE id = \(bind: id)").first().map(decode)
    }

    /// A person's records, the latest written first.
    public func list(personId: Person.ID) async throws -> [HRRecord] {
        try await db.raw("SELECT * FROM hr_records WHERE person_id = \(bind: personId) ORDER BY recorded_at DESC, id").all().map(decode)
    }

    /// The worker's countersignature on a contract not yet signed by them; false when it was already signed.
    public func countersign(_ id: String, at: Date) async throws -> Bool {
        try await !db.raw("""
            UPDATE hr_records SET worker_signed_at = \(bind: at.millis)
            WHERE id = \(bind: id) AND type = 'labour_contract' AND worker_signed_at IS NULL RETURNING id
            """).all().isEmpty
    }

    public func insertShare(_ sh: RecordShare) async throws {
        try await db.raw("""
            INSERT INTO record_shares (id, record_id, person_id, consent_id, grantee, created_at, expires_at)
            VALUES (\(bind: sh.id), \(bind: sh.recordId), \(bind: sh.personId), \(bind: sh.consentId), \(bind: sh.grantee),
                    \(bind: sh.createdAt.millis), \(bind: sh.expiresAt.millis))
            """).run()
    }

    public func findShare(_ id: String) async throws -> RecordShare? {
        guard let r = try await db.raw("SELECT * FROM record_shares WHERE id = \(bind: id)").first() else { return nil }
        return try decodeShare(r, reads: try await reads(id))
    }

    /// A person's shares, the latest first, each with its reads.
    public func shares(personId: Person.ID) async throws -> [RecordShare] {
        var out: [RecordShare] = []
        for r in try await db.raw("SELECT * FROM record_shares WHERE person_id = \(bind: personId) ORDER BY created_at DESC, id").all() {
            out.append(try decodeShare(r, reads: try await reads(try r.string("id"))))
        }
        return out
    }

    public func recordRead(shareId: String, at: Date) async throws {
        try await db.raw("INSERT INTO record_share_reads (share_id, at) VALUES (\(bind: shareId), \(bind: at.millis))").run()
    }

    func reads(_ shareId: String) async throws -> [Date] {
        try await db.raw("SELECT at FROM record_share_reads WHERE share_id = \(bind: shareId) ORDER BY at").all().map { try $0.date("at") }
    }

    func decodeShare(_ r: any SQLRow, reads: [Date]) throws -> RecordShare {
        RecordShare(id: try r.string("id"), recordId: try r.string("record_id"), personId: try r.id("person_id"), consentId: try r.string("consent_id"),
                    grantee: try r.string("grantee"), createdAt: try r.date("created_at"), expiresAt: try r.date("expires_at"), reads: reads)
    }

    func decode(_ r: any SQLRow) throws -> HRRecord {
        var contract: HRRecord.Contract?
        if let uscc = try r.optionalString("employer_uscc"), let starts = try r.optionalString("starts_on").flatMap(CalendarDay.init),
           let signedAt = try r.optionalDate("employer_signed_at") {
            contract = .init(employerUscc: uscc, startsOn: starts, endsOn: try r.optionalString("ends_on").flatMap(CalendarDay.init),
                             employerSignedAt: signedAt, employerSignedVia: try r.optionalString("employer_signed_via") ?? "",
                             workerSignedAt: try r.optionalDate("worker_signed_at"))
        }
        return HRRecord(id: try r.string("id"), personId: try r.id("person_id"), type: HRRecord.Kind(rawValue: try r.string("type")) ?? .employment,
                        title: try r.string("title"), issuer: try r.string("issuer"),
                        issuedAt: CalendarDay(try r.string("issued_at")) ?? CalendarDay(year: 1970, month: 1, day: 1)!,
                        validUntil: try r.optionalString("valid_until").flatMap(CalendarDay.init),
                        details: try r.optionalString("details_enc").map { try cipher.open($0, field: "record_details") },
                        contract: contract, recordedBy: try r.string("recorded_by"), recordedAt: try r.date("recorded_at"))
    }
}
