import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OneCardCore
import OneCardStore

/// The web pages for residents, card agencies, administrators and venues. Server-rendered, Chinese
/// first, usable without JavaScript; they call the same services as the API and are not part of the
/// OpenAPI document. Every POST carries a CSRF token; no personal data travels in a URL.
struct PagesController {
    let accounts: AccountService
    let registry: RegistryService
    let catalogue: CatalogueService
    let sessions: SessionTokens
    let policy: JurisdictionPolicy
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        registerPublic(pages)
        registerSignIn(pages)
    }

    // MARK: static files

    static let staticFiles: [String: (Data, String)] = {
        let dir = Bundle.module.resourceURL!.appendingPathComponent("Static")
        var out: [String: (Data, String)] = [:]
        for (name, type) in [("site.css", "text/css; charset=utf-8"), ("ecard.js", "text/javascript; charset=utf-8")] {
            if let data = try? Data(contentsOf: dir.appendingPathComponent(name)) { out[name] = (data, type) }
        }
        return out
    }()

    // MARK: public pages

    func registerPublic(_ pages: RouterGroup<PageContext>) {
        pages.get("/static/{file}") { _, context in
            guard let (data, type) = Self.staticFiles[context.parameters.get("file") ?? ""] else { throw HTTPError(.notFound) }
            var headers = HTTPFields()
            headers[.contentType] = type
            headers[.cacheControl] = "public, max-age=3600"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }

        // The language and display switches: a cookie each, then back to the page the reader was on.
        pages.get("/prefs") { request, context in
            let q = request.uri.queryParameters
            var cookies: [String] = []
            if let lang = q.get("lang").flatMap(Lang.init(rawValue:)) {
                cookies.append(PageCookie.set(PageCookie.lang, lang.rawValue, secure: context.secure, maxAge: 365 * 86_400))
            }
            if let display = q.get("display"), ["large", "standard"].contains(display) {
                cookies.append(PageCookie.set(PageCookie.display, display, secure: context.secure, maxAge: 365 * 86_400))
            }
            return Response.seeOther(Self.localPath(q.get("back")), cookies: cookies)
        }

        pages.get("/") { _, context in
            renderer.page("home", title: context.t("home_title"), context: context)
        }

        pages.get("/guide") { _, context in
            let lang = context.lang
            return renderer.page("guide", title: context.t("guide_title"), [
                "idTypes": policy.eligibleIdTypes.map { Messages.text("idtype_\($0.rawValue)", lang) },
                "eligibilityNote": policy.eligibilityNote, "hasNote": !policy.eligibilityNote.isEmpty,
                "timeLimit": String(format: context.t("guide_time_limit_text"), policy.applicationTimeLimitDays),
                "lossText": String(format: context.t("guide_loss_text"), policy.temporaryLossLapseDays),
                "legalBasis": policy.legalBasis,
            ], context: context)
        }

        pages.get("/outlets") { _, context in
            let outlets = try await registry.outlets()
            return renderer.page("outlets", title: context.t("outlets_title"), [
                "outlets": outlets.map { o -> [String: Any] in
                    ["name": o.name, "address": o.address, "hours": o.hours, "regionCode": o.regionCode,
                     "services": o.services.map { context.t("svc_\($0)") }.joined(separator: "、"),
                     "accessibility": o.accessibility.joined(separator: "、"), "hasAccessibility": !o.accessibility.isEmpty]
                },
                "none": outlets.isEmpty,
            ], context: context)
        }

        pages.get("/catalogue") { request, context in
            let published = try await catalogue.published()
            let q = request.uri.queryParameters
            let domain: Domain? = try q.get("domain").flatMap { $0.isEmpty ? nil : $0 }.map { try parseEnum($0, "domain") }
            let region = q.get("region").flatMap { $0.isEmpty ? nil : $0 }
            let items = try CatalogueService.filter(published.items, domain: domain, region: region)
            let versions = try await catalogue.versions()
            var csv = "/api/v1/catalogue?format=csv"
            var json = "/api/v1/catalogue"
            var filter: [String] = []
            if let domain { filter.append("domain=\(domain.rawValue)") }
            if let region { filter.append("region=\(region)") }
            if !filter.isEmpty { csv += "&" + filter.joined(separator: "&"); json += "?" + filter.joined(separator: "&") }
            return renderer.page("catalogue", title: context.t("catalogue_title"), [
                "hasVersion": published.version != nil,
                "version": published.version?.version ?? 0,
                "publishedAt": published.version.map { PageTime.dateTime($0.publishedAt) } ?? "",
                "count": String(format: context.t("catalogue_items_count"), items.count),
                "items": items.map { Self.itemView($0, context) },
                "domains": Domain.allCases.map { ["value": $0.rawValue, "label": context.t("domain_\($0.rawValue)"), "selected": $0 == domain] as [String: Any] },
                "region": region ?? "",
                "csv": csv, "json": json,
                "versions": versions.reversed().map { ["version": $0.version, "publishedAt": PageTime.dateTime($0.publishedAt)] as [String: Any] },
                "compare": Self.compareView(versions),
            ], context: context)
        }

        pages.get("/catalogue/versions/{version}") { _, context in
            guard let v = Int64(context.parameters.get("version") ?? "") else { throw DomainError(.versionNotFound, "versions are numbers") }
            let (_, version, diff) = try await catalogue.compare(from: v - 1, to: v)
            let heading = String(format: context.t("version_title"), Int(version.version))
            return versionPage(heading: heading, version, diff, context)
        }

        // Any two versions side by side (GET: version numbers are public, not personal).
        pages.get("/catalogue/compare") { request, context in
            let q = request.uri.queryParameters
            guard let a = q.get("from").flatMap({ Int64($0) }), let b = q.get("to").flatMap({ Int64($0) }), a >= 0, b >= 1 else {
                throw DomainError(.invalidValue, "from and to: version numbers")
            }
            let (_, version, diff) = try await catalogue.compare(from: a, to: b)
            let heading = String(format: context.t("compare_title"), Int(a), Int(b))
            return versionPage(heading: heading, version, diff, context)
        }
    }

    /// What changed between two catalogue versions: added, changed (before and after) and withdrawn items.
    func versionPage(heading: String, _ version: CatalogueVersion, _ diff: CatalogueDiff, _ context: PageContext) -> Response {
        renderer.page("version", title: heading, [
            "heading": heading,
            "publishedAt": PageTime.dateTime(version.publishedAt), "publishedBy": version.publishedBy,
            "added": diff.added.map { Self.itemView($0, context) }, "hasAdded": !diff.added.isEmpty,
            "changed": diff.changed.map { ["before": Self.itemView($0.before, context), "after": Self.itemView($0.after, context)] },
            "hasChanged": !diff.changed.isEmpty,
            "withdrawn": diff.withdrawn.map { Self.itemView($0, context) }, "hasWithdrawn": !diff.withdrawn.isEmpty,
        ], context: context)
    }

    /// The two version pickers of the comparison form, the newest two chosen.
    static func compareView(_ versions: [CatalogueVersion]) -> [String: Any] {
        let numbers = versions.map(\.version).sorted()
        let to = numbers.last ?? 0
        let from = numbers.dropLast().last ?? 0
        func options(_ chosen: Int64) -> [[String: Any]] {
            numbers.reversed().map { ["version": $0, "selected": $0 == chosen] as [String: Any] }
        }
        return ["from": options(from), "to": options(to), "canCompare": numbers.count >= 2]
    }

    /// A catalogue item with its enumerations in the reader's language.
    static func itemView(_ i: CatalogueItem, _ context: PageContext) -> [String: Any] {
        ["code": i.code, "name": i.name, "domain": context.t("domain_\(i.domain.rawValue)"), "scenario": i.scenario,
         "forms": i.cardForms.map { context.t("form_\($0.rawValue)") }.joined(separator: "、"),
         "level": context.t("level_\(i.level.rawValue)"), "regions": i.regions.joined(separator: " "),
         "issuers": i.issuers.joined(separator: " "), "venueTypes": i.venueTypes.map { context.t("vt_\($0.rawValue)") }.joined(separator: "、"),
         "legalBasis": i.legalBasis, "effectiveFrom": i.effectiveFrom.description]
    }

    /// A path on this site to return to; anything else (another host, a scheme) goes home.
    static func localPath(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.contains("\\"), !raw.contains("\r"), !raw.contains("\n") else { return "/" }
        return raw
    }

    // MARK: signing in and out

    func registerSignIn(_ pages: RouterGroup<PageContext>) {
        pages.get("/signin") { request, context in
            signInPage(context, notice: request.uri.queryParameters.get("notice") == "signup_done" ? context.t("signup_done") : nil)
        }

        pages.post("/signin") { _, context in
            do {
                let session = try await accounts.holderToken(idNumber: try context.form.required("idNumber"),
                                                                      password: try context.form.required("password"))
                return Response.seeOther("/me", cookies: [sessionCookie(session.accessToken, context)])
            } catch let e as DomainError {
                return signInPage(context, error: e)
            }
        }

        pages.get("/signup") { _, context in signUpPage(context) }

        pages.post("/signup") { _, context in
            do {
                let form = context.form
                _ = try await accounts.signUpHolder(
                    idType: try parseEnum(try form.required("idType"), "idType"), idNumber: try form.required("idNumber"),
                    name: try form.required("name"), phone: try form.required("phone"), password: try form.required("password"))
                return Response.seeOther("/signin?notice=signup_done")
            } catch let e as DomainError {
                return signUpPage(context, error: e)
            }
        }

        pages.get("/staff/signin") { _, context in staffSignInPage(context) }

        pages.post("/staff/signin") { _, context in
            do {
                let session = try await accounts.staffToken(username: try context.form.required("username"),
                                                                     password: try context.form.required("password"))
                let home = Self.staffHome[session.role] ?? "/"
                return Response.seeOther(home, cookies: [sessionCookie(session.accessToken, context)])
            } catch let e as DomainError {
                return staffSignInPage(context, error: e)
            }
        }

        pages.post("/signout") { _, context in
            Response.seeOther("/", cookies: [PageCookie.clear(PageCookie.session, secure: context.secure)])
        }
    }

    /// Where each staff role lands after signing in.
    static let staffHome = [Role.admin.rawValue: "/admin", Role.agent.rawValue: "/agent", Role.department.rawValue: "/department",
                            Role.auditor.rawValue: "/audit"]

    func sessionCookie(_ token: String, _ context: PageContext) -> String {
        PageCookie.set(PageCookie.session, token, secure: context.secure, maxAge: Int(sessions.lifetime))
    }

    static func errorView(_ e: DomainError?, _ context: PageContext) -> [String: Any] {
        guard let e else { return ["hasError": false] }
        return ["hasError": true, "errorReason": Messages.reason(e.code.rawValue, context.lang), "errorCode": e.code.rawValue]
    }

    func signInPage(_ context: PageContext, error: DomainError? = nil, notice: String? = nil) -> Response {
        var d = Self.errorView(error, context)
        d["notice"] = notice ?? ""
        d["hasNotice"] = notice != nil
        return renderer.page("signin", title: context.t("signin_title"), d, context: context, status: error.map { Problem.status(for: $0.kind) } ?? .ok)
    }

    func signUpPage(_ context: PageContext, error: DomainError? = nil) -> Response {
        var d = Self.errorView(error, context)
        d["idTypes"] = IDType.allCases.map { ["value": $0.rawValue, "label": context.t("idtype_\($0.rawValue)")] }
        return renderer.page("signup", title: context.t("signup_title"), d, context: context, status: error.map { Problem.status(for: $0.kind) } ?? .ok)
    }

    func staffSignInPage(_ context: PageContext, error: DomainError? = nil) -> Response {
        renderer.page("staff-signin", title: context.t("staff_signin_title"), Self.errorView(error, context), context: context,
                      status: error.map { Problem.status(for: $0.kind) } ?? .ok)
    }
}

extension PageContext {
    /// The caller, who must hold one of `roles`; someone not signed in is sent to `signIn` first.
    func require(_ roles: [Role], signIn: String) throws -> Identity {
        guard let identity else { throw PageRedirect(location: signIn) }
        guard roles.contains(identity.role) else { throw DomainError.forbidden }
        return identity
    }
}
