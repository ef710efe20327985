import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import OneCardCore
import OneCardStore

/// The request context of web pages: the caller (from the session cookie), the language and display
/// chosen, the browser's CSRF nonce and, for a POST, the form that was sent (already CSRF-checked).
struct PageContext: ChildRequestContext {
    typealias ParentContext = AppContext
    var coreContext: CoreRequestContextStorage
    var identity: Identity?
    var lang: Lang = .zh
    var largeText = false
    /// A random value kept in an HttpOnly cookie; the CSRF token of a form is an HMAC over it and the session.
    var nonce = ""
    var sessionToken: String?
    var form = Form()
    /// Whether the request came over TLS (directly or through a proxy saying so); cookies are then Secure.
    var secure = false
    var path = "/"

    init(context: AppContext) throws {
        coreContext = context.coreContext
    }

    var maxUploadSize: Int { 1_048_576 }

    func t(_ key: String) -> String { Messages.text(key, lang) }
}

/// An `application/x-www-form-urlencoded` body; a field may repeat (checkboxes).
struct Form: Sendable {
    var fields: [(String, String)] = []

    init() {}

    init(parsing body: String) {
        fields = body.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The first value, trimmed; nil when absent or empty.
    subscript(_ name: String) -> String? {
        guard let v = fields.first(where: { $0.0 == name })?.1.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }

    func all(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }

    /// A free-text list typed into one field, split at commas (ASCII or Chinese) and enumeration commas.
    func list(_ name: String) -> [String] {
        (self[name] ?? "").split(whereSeparator: { $0 == "," || $0 == "，" || $0 == "、" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A required field, or the same `invalid_field` refusal the API gives.
    func required(_ name: String) throws(DomainError) -> String {
        guard let v = self[name] else { throw DomainError.invalidField(name, "required") }
        return v
    }
}

/// Thrown by a page handler to send the browser elsewhere (e.g. to sign in first).
struct PageRedirect: Error { let location: String }

enum PageCookie {
    static let session = "onecard_session"
    static let csrf = "onecard_csrf"
    static let lang = "onecard_lang"
    static let display = "onecard_display"

    /// A `Set-Cookie` value: HttpOnly and SameSite=Strict always, Secure over TLS.
    static func set(_ name: String, _ value: String, secure: Bool, maxAge: Int? = nil) -> String {
        var parts = ["\(name)=\(value)", "Path=/", "HttpOnly", "SameSite=Strict"]
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if secure { parts.append("Secure") }
        return parts.joined(separator: "; ")
    }

    static func clear(_ name: String, secure: Bool) -> String { set(name, "", secure: secure, maxAge: 0) }

    static func parse(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                let key = kv[0].trimmingCharacters(in: .whitespaces)
                if out[key] == nil { out[key] = kv[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return out
    }
}

/// Establishes the page context from cookies, refuses a POST whose CSRF token does not match, and turns
/// every error into a friendly page with the API's stable code, in the reader's language.
struct PageMiddleware: RouterMiddleware {
    typealias Context = PageContext
    let sessions: SessionTokens
    let venues: VenueService
    let random: RandomSource
    let renderer: PageRenderer
    /// The server itself speaks TLS: cookies are `Secure` and pages carry HSTS.
    var tls = false

    func handle(_ request: Request, context: PageContext, next: (Request, PageContext) async throws -> Response) async throws -> Response {
        var context = context
        var request = request
        let cookies = PageCookie.parse(request)
        context.path = request.uri.path
        context.secure = tls || request.head.scheme == "https" || request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https"
        context.lang = request.uri.queryParameters.get("lang").flatMap(Lang.init(rawValue:)) ?? cookies[PageCookie.lang].flatMap(Lang.init(rawValue:)) ?? .zh
        context.largeText = cookies[PageCookie.display] == "large"
        var setCookies: [String] = []
        if let nonce = cookies[PageCookie.csrf], nonce.count == 43, nonce.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            context.nonce = nonce
        } else {
            context.nonce = Base64URL.encode(random.bytes(32))
            setCookies.append(PageCookie.set(PageCookie.csrf, context.nonce, secure: context.secure))
        }
        if let token = cookies[PageCookie.session], !token.isEmpty {
            // Terminals keep their API key in the cookie (revoking the key ends the session at once); people a session token.
            let identity = token.hasPrefix("oct_") ? await venues.authenticate(token) : await sessions.verify(token)
            if let identity {
                context.identity = identity
                context.sessionToken = token
            } else {
                setCookies.append(PageCookie.clear(PageCookie.session, secure: context.secure))
            }
        }
        var response: Response
        do {
            if request.method == .post {
                let buffer: ByteBuffer
                do { buffer = try await request.collectBody(upTo: context.maxUploadSize) } catch is NIOTooManyBytesError {
                    throw DomainError(.payloadTooLarge, "request bodies are limited to 1 MB")
                }
                context.form = Form(parsing: String(buffer: buffer))
                guard VenueService.constantTimeEqual(context.form["_csrf"] ?? "", renderer.csrfToken(context)) else {
                    throw DomainError(.csrfFailed, "the form's CSRF token is missing or does not match this session")
                }
            }
            response = try await next(request, context)
        } catch let redirect as PageRedirect {
            response = Response(status: .seeOther, headers: [.location: redirect.location])
        } catch {
            response = renderer.error(error, context: context, logger: context.logger)
        }
        for c in setCookies { response.headers.append(HTTPField(name: .setCookie, value: c)) }
        PageRenderer.secure(&response.headers)
        // Over TLS, browsers are told to come back only over TLS (a year).
        if context.secure { response.headers[HTTPField.Name("Strict-Transport-Security")!] = "max-age=31536000" }
        return response
    }
}

/// Renders the mustache templates of `Pages/Templates` inside the common layout.
struct PageRenderer: Sendable {
    let library: MustacheLibrary
    /// The key CSRF tokens are derived from.
    let csrfKey: SymmetricKey
    /// The running jurisdiction, named in the layout with its hotlines.
    let policy: JurisdictionPolicy
    /// Incident mode as this process last saw it: every staff page shows it.
    var incident: IncidentFlag = IncidentFlag()

    /// Loads every template in the bundle; a template that does not parse stops start-up.
    static func load(keys: NodeKeys, policy: JurisdictionPolicy, incident: IncidentFlag = IncidentFlag()) -> PageRenderer {
        var library = MustacheLibrary()
        let dir = Bundle.module.resourceURL!.appendingPathComponent("Templates")
        let files = (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []
        for file in files where file.pathExtension == "mustache" {
            do {
                try library.register(String(contentsOf: file, encoding: .utf8), named: file.deletingPathExtension().lastPathComponent)
            } catch {
                fatalError("page template \(file.lastPathComponent) does not parse: \(error)")
            }
        }
        let csrfKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: keys.sessions, salt: Data("onecard-pages".utf8), info: Data("csrf-v1".utf8), outputByteCount: 32)
        return PageRenderer(library: library, csrfKey: csrfKey, policy: policy, incident: incident)
    }

    /// The CSRF token for forms in this browser and session.
    func csrfToken(_ context: PageContext) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(context.nonce)|\(context.sessionToken ?? "")".utf8), using: csrfKey)
        return Base64URL.encode(Array(mac))
    }

    /// Headers on every page: a strict content security policy, no framing, no caching of personal pages.
    static func secure(_ headers: inout HTTPFields) {
        if headers[.contentType]?.hasPrefix("text/html") == true {
            headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        }
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }

    /// A page: `template` rendered with `data` plus what the layout needs (messages, navigation, CSRF token).
    func page(_ template: String, title: String, _ data: [String: Any] = [:], context: PageContext, status: HTTPResponse.Status = .ok,
              back: String? = nil, extraHead: String? = nil) -> Response {
        var d = data
        let role = context.identity?.role
        d["t"] = Messages.table(context.lang)
        d["lang"] = context.lang.tag
        d["title"] = title
        d["csrf"] = csrfToken(context)
        d["largeText"] = context.largeText
        let here = back ?? context.path
        d["langSwitch"] = "/prefs?lang=\(context.lang.other.rawValue)&back=\(Self.encode(here))"
        d["displaySwitch"] = "/prefs?display=\(context.largeText ? "standard" : "large")&back=\(Self.encode(here))"
        d["signedIn"] = context.identity != nil
        d["who"] = context.identity.map { Messages.text("role_\($0.role.rawValue)", context.lang) + (role == .holder || role == .terminal ? "" : " \($0.subject)") } ?? ""
        d["isHolder"] = role == .holder
        d["isAgent"] = role == .agent || role == .admin
        d["isAdmin"] = role == .admin
        d["isDepartment"] = role == .department || role == .admin
        d["isDepartmentUser"] = role == .department
        d["isTerminal"] = role == .terminal
        d["isAuditor"] = role == .auditor
        if let role, role != .holder, role != .terminal {
            let state = incident.state
            if state.active { d["incident"] = true; d["incidentReason"] = state.reason ?? "" }
        }
        d["isStatsReader"] = role == .auditor || role == .admin
        d["isComplaintStaff"] = [.agent, .department, .admin, .auditor].contains(role)
        d["jurisdiction"] = context.lang == .zh ? policy.name : policy.nameEn
        d["hotlines"] = policy.hotlines.map { ["number": $0.number, "name": $0.name] }
        if let extraHead { d["refreshSeconds"] = extraHead }
        let html = library.render(d, withTemplate: template) ?? ""
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The friendly error page: the reason in the reader's language, the stable code, the technical detail.
    func error(_ error: any Error, context: PageContext, logger: Logger) -> Response {
        let status: HTTPResponse.Status
        let code: String
        var detail: String
        // A database down or failing over reads as "try again shortly", not as an internal error.
        switch Store.unavailable(error) ?? error {
        case let e as DomainError:
            status = Problem.status(for: e.kind); code = e.code.rawValue; detail = e.detail
        case let e as HTTPError:
            let p = Problem(e)
            status = p.status; code = p.code; detail = p.detail
        default:
            logger.error("unhandled error on a page", metadata: ["error": "\(String(reflecting: error))", "path": "\(context.path)"])
            status = .internalServerError; code = "internal_error"; detail = "an internal error occurred; it has been logged"
        }
        if status == .internalServerError { detail = "" }
        var response = page("error", title: context.t("error_title"), [
            "code": code, "reason": Messages.reason(code, context.lang), "detail": detail, "hasDetail": !detail.isEmpty,
            "status": Int(status.code),
        ], context: context, status: status, back: "/")
        if let seconds = (error as? DomainError ?? Store.unavailable(error))?.extensions["retryAfter"] { response.headers[.retryAfter] = seconds }
        return response
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_.~"))) ?? "/"
    }
}

extension Response {
    /// 303 See Other, the answer to a form that changed something (post/redirect/get).
    static func seeOther(_ location: String, cookies: [String] = []) -> Response {
        var headers: HTTPFields = [.location: location]
        for c in cookies { headers.append(HTTPField(name: .setCookie, value: c)) }
        return Response(status: .seeOther, headers: headers)
    }
}

/// Formats times and dates for people, in China Standard Time (UTC+8, no summer time since 1991): by arithmetic, as
/// `Timestamp` does, with no Foundation formatter (see there why).
enum PageTime {
    static let offset = 8 * 3600

    static func dateTime(_ d: Date) -> String { date(d) + " " + hm(Timestamp.fields(d, utcOffsetSeconds: offset)) }

    /// Midnight at the start of `day`, China Standard Time.
    static func startOfDay(_ day: CalendarDay) -> Date {
        Date(timeIntervalSince1970: Double(day.daysSinceEpoch * 86_400 - offset))
    }
    static func date(_ d: Date) -> String {
        let f = Timestamp.fields(d, utcOffsetSeconds: offset)
        return Timestamp.padded(f.year, 4) + "-" + Timestamp.padded(f.month, 2) + "-" + Timestamp.padded(f.day, 2)
    }
    static func time(_ d: Date) -> String {
        let f = Timestamp.fields(d, utcOffsetSeconds: offset)
        return hm(f) + ":" + Timestamp.padded(f.second, 2)
    }
    private static func hm(_ f: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int)) -> String {
        Timestamp.padded(f.hour, 2) + ":" + Timestamp.padded(f.minute, 2)
    }
}

/// Regions in words, as GB/T 2260 names them (e.g. 120000 天津市).
enum PageRegion {
    /// The region's name, or its code when the table has no such region.
    static func name(_ code: String) -> String { RegionTable.shared.entry(code)?.name ?? code }
}
