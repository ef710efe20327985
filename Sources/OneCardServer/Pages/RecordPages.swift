import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// The holder's HR&SS electronic file (`/me/records`): their records, each proof to download, a labour contract to
/// countersign, a record to share through a short-lived link, and every share with its reads.
struct RecordPages {
    let records: RecordService
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/records") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let list = try await records.mine(personId: me.personId!)
            let shares = try await records.shares(personId: me.personId!)
            let titles = Dictionary(list.map { ($0.record.id, $0.record.title) }, uniquingKeysWith: { a, _ in a })
            return renderer.page("me-records", title: context.t("rec_title"), [
                "records": list.map { s -> [String: Any] in
                    let r = s.record
                    return ["id": r.id, "type": context.t("rec_type_\(r.type.rawValue)"), "title": r.title, "issuer": r.issuer,
                            "issuedAt": r.issuedAt.description, "validUntil": r.validUntil?.description ?? "—",
                            "isContract": r.contract != nil, "inEffect": r.contract?.signedByBoth ?? false,
                            "awaitingMe": r.contract.map { !$0.signedByBoth } ?? false,
                            "contractTerms": r.contract.map { c in "\(c.employerUscc) · \(c.startsOn.description) – \(c.endsOn?.description ?? context.t("rec_open_ended"))" } ?? ""]
                },
                "hasRecords": !list.isEmpty,
                "shares": shares.map { s -> [String: Any] in
                    ["id": s.id, "title": titles[s.recordId] ?? s.recordId, "grantee": s.grantee, "createdAt": PageTime.dateTime(s.createdAt),
                     "expiresAt": PageTime.dateTime(s.expiresAt), "reads": s.reads.map(PageTime.dateTime).joined(separator: "、"),
                     "readCount": s.reads.count]
                },
                "hasShares": !shares.isEmpty,
            ], context: context)
        }
        // The proof as a file (a compact JWS; verify it with /api/v1/trust/jwks).
        pages.get("/me/records/:id/proof") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let id = context.parameters.get("id") ?? ""
            guard let s = try await records.mine(personId: me.personId!).first(where: { $0.record.id == id }) else {
                throw DomainError(.recordNotFound, "no record \(id) of yours")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/jose"
            headers[.contentDisposition] = "attachment; filename=\"onecard-record-\(id).jws\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s.proof)))
        }
        pages.post("/me/records/:id/sign") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            _ = try await records.countersign(context.parameters.get("id") ?? "", by: me)
            return Response.seeOther("/me/records")
        }
        pages.post("/me/records/:id/share") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let grantee = try context.form.required("grantee").trimmingCharacters(in: .whitespaces)
            try TextRule.check(grantee, "grantee", max: 100, notBlank: true, oneLine: true)
            let minutes = Int(context.form["minutes"] ?? "") ?? RecordShareLink.defaultMinutes
            guard (1...RecordShareLink.maxMinutes).contains(minutes) else {
                throw DomainError.invalidField("minutes", "1 to \(RecordShareLink.maxMinutes)")
            }
            let (_, token) = try await records.share(context.parameters.get("id") ?? "", grantee: grantee, minutes: minutes, by: me)
            return renderer.page("me-records-shared", title: context.t("rec_shared_title"), [
                "url": "/api/v1/record-shares/\(token)", "grantee": grantee, "minutes": minutes,
            ], context: context)
        }
    }
}
