import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// A page as the browser got it.
struct PageReply: CustomStringConvertible {
    let status: Int
    let html: String
    let location: String?
    let setCookies: [String]
    var description: String { "\(status) \(location ?? "") \(html.prefix(300))" }

    /// The CSRF token of the first form on the page.
    var csrf: String? { PageReply.first(#"name="_csrf" value="([^"]+)""#, in: html) }

    /// Every URL the page links to or posts to.
    var urls: [String] {
        let regex = try! NSRegularExpression(pattern: #"(?:href|action|src)="([^"]*)""#)
        return regex.matches(in: html, range: NSRange(html.startIndex..., in: html)).compactMap { Range($0.range(at: 1), in: html).map { String(html[$0]) } }
    }

    static func first(_ pattern: String, in text: String) -> String? {
        let regex = try! NSRegularExpression(pattern: pattern)
        guard let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), let r = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[r])
    }
}

/// A cookie-keeping browser over the in-process server; it remembers every URL it saw, to check that
/// none carries personal data.
final class PageBrowser: @unchecked Sendable {
    let h: Harness
    var cookies: [String: String] = [:]
    var seenURLs: [String] = []
    var lastCSRF: String?

    init(_ h: Harness) { self.h = h }

    @discardableResult
    func get(_ uri: String) async throws -> PageReply {
        try await send(.get, uri, body: nil)
    }

    /// Posts a form with the CSRF token of the last page (unless `csrf` says otherwise).
    @discardableResult
    func post(_ uri: String, _ fields: [(String, String)], csrf: String?? = nil) async throws -> PageReply {
        var all = fields
        if let token = csrf ?? lastCSRF { all.append(("_csrf", token)) }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = all.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        return try await send(.post, uri, body: body)
    }

    private func send(_ method: HTTPRequest.Method, _ uri: String, body: String?) async throws -> PageReply {
        seenURLs.append(uri)
        var headers = HTTPFields()
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let r = try await h.client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let setCookies = r.headers[values: .setCookie]
        for c in setCookies {
            let first = c.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(first[0]), value = first.count > 1 ? String(first[1]) : ""
            if value.isEmpty || c.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        let reply = PageReply(status: Int(r.status.code), html: String(buffer: r.body), location: r.headers[.location], setCookies: setCookies)
        if let l = reply.location { seenURLs.append(l) }
        seenURLs += reply.urls
        if let token = reply.csrf { lastCSRF = token }
        return reply
    }
}

extension PageBrowser {
    /// A fresh browser with the staff user `username` signed in through the staff sign-in form.
    static func signedIn(_ h: Harness, staff username: String) async throws -> PageBrowser {
        let b = PageBrowser(h)
        try await b.signIn(staff: username)
        return b
    }

    /// Opens the staff sign-in form and sends it with the password "<username>-password": the form's answer.
    @discardableResult
    func signIn(staff username: String) async throws -> PageReply {
        _ = try await get("/staff/signin")
        return try await post("/staff/signin", [("username", username), ("password", "\(username)-password")])
    }

    /// Opens the resident sign-in form and sends it: the form's answer.
    @discardableResult
    func signIn(holder idNumber: String, password: String = "holder-password") async throws -> PageReply {
        _ = try await get("/signin")
        return try await post("/signin", [("idNumber", idNumber), ("password", password)])
    }
}
