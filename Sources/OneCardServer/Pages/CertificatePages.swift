import Foundation
import Hummingbird
import OneCardCore

/// The department's page for a person's certificates (GD art. 7): find the person by ID number, see their certificates
/// (never the number), load one of the kind the user's scope issues, revoke one. The same service methods as
/// `POST/DELETE /api/v1/persons/{personId}/certificates`.
struct CertificatePages {
    let certificates: CertificateService
    let registry: RegistryService
    let renderer: PageRenderer

    static let signIn = "/staff/signin"

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/department/certificates") { _, context in
            _ = try context.require([.department], signIn: Self.signIn)
            return renderer.page("department-certificates", title: context.t("cert_title"), ["found": false, "hasError": false], context: context)
        }

        pages.post("/department/certificates/find") { _, context in
            _ = try context.require([.department], signIn: Self.signIn)
            let idNumber = (context.form["idNumber"] ?? "").trimmingCharacters(in: .whitespaces).uppercased()
            guard let person = try await registry.person(idNumber: idNumber) else {
                var d = PagesController.errorView(DomainError(.personNotFound, "no person with that ID number"), context)
                d["found"] = false
                return renderer.page("department-certificates", title: context.t("cert_title"), d, context: context, status: .notFound)
            }
            return Response.seeOther("/department/certificates/\(person.id)")
        }

        pages.get("/department/certificates/{personId}") { _, context in
            _ = try context.require([.department], signIn: Self.signIn)
            return try await personPage(Person.ID(context.parameters.get("personId") ?? ""), context)
        }

        pages.post("/department/certificates/{personId}") { _, context in
            let me = try context.require([.department], signIn: Self.signIn)
            let personId = Person.ID(context.parameters.get("personId") ?? "")
            let f = context.form
            do {
                func int(_ name: String) throws(DomainError) -> Int? {
                    guard let v = f[name], !v.isEmpty else { return nil }
                    guard let n = Int(v) else { throw DomainError.invalidField(name, "a whole number") }
                    return n
                }
                guard let from = CalendarDay(try f.required("validFrom")) else { throw DomainError.invalidField("validFrom", "a date YYYY-MM-DD") }
                let to = try f["validTo"].flatMap { v throws(DomainError) -> CalendarDay? in
                    guard !v.isEmpty else { return nil }
                    guard let d = CalendarDay(v) else { throw DomainError.invalidField("validTo", "a date YYYY-MM-DD") }
                    return d
                }
                let number = f["number"].flatMap { $0.isEmpty ? nil : $0.uppercased() }
                _ = try await certificates.load(personId: personId, .init(type: try parseEnum(try f.required("type"), "type"), number: number,
                                                                          category: try int("category"), grade: try int("grade"),
                                                                          validFrom: from, validTo: to), by: me)
                return Response.seeOther("/department/certificates/\(personId)")
            } catch let e as DomainError {
                return try await personPage(personId, context, error: e)
            }
        }

        pages.post("/department/certificates/{personId}/{certificateId}/revoke") { _, context in
            let me = try context.require([.department], signIn: Self.signIn)
            let personId = Person.ID(context.parameters.get("personId") ?? "")
            do {
                _ = try await certificates.revoke(personId: personId, certificateId: context.parameters.get("certificateId") ?? "", by: me)
                return Response.seeOther("/department/certificates/\(personId)")
            } catch let e as DomainError {
                return try await personPage(personId, context, error: e)
            }
        }
    }

    /// A person's certificates, and the form for the kind the user's scope issues.
    func personPage(_ personId: Person.ID, _ context: PageContext, error: DomainError? = nil) async throws -> Response {
        let person = try await registry.person(personId)
        let list = try await certificates.certificates(personId: personId)
        let scope = context.identity?.scope
        let now = Date()
        var d = PagesController.errorView(error, context)
        d["found"] = true
        d["personId"] = personId.rawValue
        d["name"] = Mask.name(person.name)
        d["idNumber"] = Mask.idNumber(person.idNumber.value)
        d["certificates"] = list.map { c -> [String: Any] in
            ["id": c.id, "type": context.t("cert_type_\(c.type.rawValue)"),
             "details": c.type == .disability ? context.t("cert_category_grade").replacingOccurrences(of: "{c}", with: String(c.category ?? 0))
                .replacingOccurrences(of: "{g}", with: String(c.grade ?? 0)) : "",
             "validFrom": c.validFrom.description, "validTo": c.validTo?.description ?? context.t("cert_no_end"),
             "status": c.revokedAt != nil ? context.t("cert_revoked") : (c.inForce(at: now) ? context.t("cert_in_force") : context.t("cert_not_in_force")),
             "ok": c.revokedAt == nil && c.inForce(at: now),
             "canRevoke": c.revokedAt == nil && scope == c.type.issuingScope]
        }
        d["hasCertificates"] = !list.isEmpty
        let kinds = Certificate.Kind.allCases.filter { $0.issuingScope == scope }
        d["kinds"] = kinds.map { ["value": $0.rawValue, "label": context.t("cert_type_\($0.rawValue)")] as [String: Any] }
        d["canLoad"] = !kinds.isEmpty
        d["isDisability"] = kinds.contains(.disability)
        d["today"] = CalendarDay(now).description
        return renderer.page("department-certificates", title: context.t("cert_title"), d, context: context,
                             status: error.map { Problem.status(for: $0.kind) } ?? .ok, back: "/department/certificates/\(personId)")
    }
}
