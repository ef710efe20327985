import Foundation
import Hummingbird
import OneCardCore

/// The auditor's page: whether the audit chain is intact (the same walk as `onecard audit verify` and
/// `GET /api/v1/audit/verification`), and the entries filtered by actor, subject and day (as `GET /api/v1/audit`).
struct AuditPages {
    let audit: AuditService
    let renderer: PageRenderer

    static let signIn = "/staff/signin"

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/audit") { request, context in
            _ = try context.require([.auditor], signIn: Self.signIn)
            let q = request.uri.queryParameters
            func text(_ name: String) -> String? { q.get(name).map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : String($0.prefix(200)) } }
            let (actor, subject, fromDay, toDay) = (text("actor"), text("subject"), text("from").flatMap(CalendarDay.init), text("to").flatMap(CalendarDay.init))
            // Days are China's: from the start of `from` to the end of `to`.
            let from = fromDay.map { PageTime.startOfDay($0) }, to = toDay.map { PageTime.startOfDay($0).addingTimeInterval(86_400) }
            var error: DomainError?
            var entries: [AuditEntry] = []
            do { entries = try await audit.entries(from: from, to: to, actor: actor, subject: subject, before: nil, limit: 200) } catch let e as DomainError {
                error = e
            }
            let v = try await audit.verify()
            return renderer.page("audit", title: context.t("audit_title"), [
                "intact": v.broken == nil, "checked": v.checked, "headSeq": v.headSeq,
                "firstBad": v.broken.map { String($0.seq) } ?? "", "problem": v.broken?.description ?? "",
                "actor": actor ?? "", "subject": subject ?? "", "from": fromDay?.description ?? "", "to": toDay?.description ?? "",
                "entries": entries.map { e -> [String: Any] in
                    ["seq": e.seq, "at": PageTime.dateTime(e.at), "actor": e.actor, "action": e.action, "subject": e.subject, "purpose": e.purpose ?? ""]
                },
                "hasEntries": !entries.isEmpty,
            ].merging(PagesController.errorView(error, context), uniquingKeysWith: { a, _ in a }), context: context)
        }
    }
}
