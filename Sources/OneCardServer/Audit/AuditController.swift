import Foundation
import Hummingbird
import OneCardCore

/// The auditor's view of the audit log: entries filtered by time, actor and subject, and the chain's verification.
struct AuditController {
    let audit: AuditService

    func register(_ api: API) {
        api.add(.get, "/api/v1/audit",              roles: [.auditor], entries)
        api.add(.get, "/api/v1/audit/verification", roles: [.auditor], verification)
    }

    struct EntryView: Encodable, Sendable {
        static let schema = Schema.named("AuditEntry", .object([
            ("seq", .integer), ("at", .dateTime), ("actor", .text), ("action", .text), ("subject", .text), ("purpose", .nullable(.text)), ("hash", .text),
        ], required: ["seq", "at", "actor", "action", "subject", "hash"]))
        let seq: Int64, at: String, actor: String, action: String, subject: String, purpose: String?, hash: String
        init(_ e: AuditEntry) {
            seq = e.seq; at = Timestamp.format(e.at); actor = e.actor; action = e.action; subject = e.subject; purpose = e.purpose; hash = e.hash
        }
    }

    var entries: Handler {
        Handler("Audit entries, newest first, filtered by time (from inclusive, to exclusive), actor and subject",
                tag: "audit",
                query: [.text("from", "RFC 3339; entries at or after", pattern: Docs.dateTime), .text("to", "RFC 3339; entries before", pattern: Docs.dateTime),
                        .text("actor", "exactly this actor, e.g. agent:agent", pattern: Docs.oneLine),
                        .text("subject", "exactly this subject, e.g. person:<id>", pattern: Docs.oneLine),
                        .integer("before", "only entries before this seq (paging)", minimum: 1),
                        .integer("limit", "at most this many (default 100)", minimum: 1, maximum: 1000)],
                success: (200, "Entries", .object([("entries", .array(EntryView.schema))], required: ["entries"])),
                errors: [.invalidTimeRange]) { request, _ in
            let q = request.uri.queryParameters
            func time(_ name: String) throws(DomainError) -> Date? {
                guard let raw = q.get(name) else { return nil }
                guard let d = Timestamp.parse(raw) else { throw DomainError(.invalidTimeRange, "\(name): no such time (RFC 3339)") }
                return d
            }
            let list = try await audit.entries(from: try time("from"), to: try time("to"), actor: q.get("actor").flatMap { $0.isEmpty ? nil : $0 }, subject: q.get("subject").flatMap { $0.isEmpty ? nil : $0 },
                                               before: q.get("before").flatMap { Int64($0) }, limit: q.get("limit").flatMap { Int($0) } ?? 100)
            return JSONResponse(["entries": list.map(EntryView.init)])
        }
    }

    var verification: Handler {
        Handler("Walk the whole hash chain: intact, or the first broken or missing entry",
                tag: "audit",
                success: (200, "The walk's result", .object([
                    ("intact", .boolean), ("checked", .integer), ("headSeq", .integer), ("firstBadSeq", .integer), ("problem", .text),
                    ("hubCheckpoints", .nullable(.integer)), ("hubProblem", .nullable(.text)),
                ], required: ["intact", "checked", "headSeq"]))) { _, _ in
            let v = try await audit.verify()
            struct View: Encodable {
                let intact: Bool; let checked: Int; let headSeq: Int64; let firstBadSeq: Int64?; let problem: String?
                let hubCheckpoints: Int?; let hubProblem: String?
            }
            return JSONResponse(View(intact: v.broken == nil, checked: v.checked, headSeq: v.headSeq, firstBadSeq: v.broken?.seq, problem: v.broken?.description,
                                     hubCheckpoints: v.hubCheckpoints, hubProblem: v.hubProblem))
        }
    }

    enum Docs {
        /// Any text (an exact match against stored actors and subjects; empty: no filter). A narrower pattern was read
        /// differently by the server's regex engine and by Schemathesis's (line breaks, U+0085), so none is claimed.
        static let oneLine = "^[\\s\\S]*$"
        static let dateTime = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
    }
}
