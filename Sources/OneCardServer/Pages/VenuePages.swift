import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// The venue terminal page: sign in with the terminal's API key, pick the item, paste or scan a token or
/// present a physical card (the page gives a fresh challenge, the card's chip answers it), and see a large
/// accepted or denied answer with the reason in plain language. Each form carries its own Idempotency-Key,
/// so resending a form never records a use twice.
struct VenuePages {
    let venues: VenueService
    let acceptance: AcceptanceService
    let catalogue: CatalogueService
    let sessions: SessionTokens
    let random: RandomSource
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/venue") { _, context in
            guard let me = context.identity, me.role == .terminal else { return signInPage(context) }
            return try await checkPage(me, context)
        }

        pages.post("/venue/signin") { _, context in
            let key = try context.form.required("apiKey")
            guard await venues.authenticate(key) != nil else {
                return signInPage(context, error: DomainError(.invalidCredentials, "the terminal key is unknown or revoked"))
            }
            return Response.seeOther("/venue", cookies: [PageCookie.set(PageCookie.session, key, secure: context.secure, maxAge: Int(sessions.lifetime))])
        }

        pages.post("/venue/accept") { _, context in
            guard let me = context.identity, me.role == .terminal else { throw PageRedirect(location: "/venue") }
            let form = context.form
            let key = try form.required("idempotencyKey")
            guard (1...200).contains(key.count) else { throw DomainError(.idempotencyKeyRequired, "an Idempotency-Key of 1 to 200 characters") }
            let itemCode = try form.required("itemCode")
            // The same parsing and checks as `POST /api/v1/acceptances`: a QR token, or a card's number with the chip's answer.
            let credential = try AcceptanceService.parse(
                kind: form["kind"] ?? "qr", token: form["token"].map { $0.filter { !$0.isWhitespace } }, cardNumber: form["cardNumber"]?.uppercased(),
                challenge: form["challenge"], response: form["response"].map { $0.filter { !$0.isWhitespace } })
            let answer = try await acceptance.accept(
                terminal: me, idempotencyKey: key, itemCode: itemCode, credential: credential, amountFen: nil)
            let accepted = answer.decision == .accepted
            return renderer.page("venue-result", title: context.t(accepted ? "venue_accepted" : "venue_denied"), [
                "accepted": accepted, "verdict": context.t(accepted ? "venue_accepted" : "venue_denied"),
                "reason": answer.reason.map { Messages.reason($0, context.lang, credential: form["kind"] ?? "qr") } ?? context.t("venue_accepted_text"),
                "code": answer.reason ?? "", "hasCode": answer.reason != nil, "itemCode": itemCode,
                "kind": context.t(form["kind"] == "card" ? "kind_card" : "kind_qr"), "crossRegion": answer.crossRegion,
                "entitlements": answer.entitlements.map { context.t("ent_\($0)") }.joined(separator: "、"), "hasEntitlements": !answer.entitlements.isEmpty,
                // The concession the venue region's pack gives (free entry, companions admitted free) with its basis.
                "hasConcession": answer.concession != nil, "concessionBasis": answer.concession?.basis ?? "",
                "companions": answer.concession.map { $0.companions > 0 ? context.t("uses_companions").replacingOccurrences(of: "{n}", with: String($0.companions)) : "" } ?? "",
            ], context: context, back: "/venue")
        }
    }

    func signInPage(_ context: PageContext, error: DomainError? = nil) -> Response {
        renderer.page("venue-signin", title: context.t("venue_signin_title"), PagesController.errorView(error, context), context: context,
                      status: error.map { Problem.status(for: $0.kind) } ?? .ok)
    }

    func checkPage(_ me: Identity, _ context: PageContext) async throws -> Response {
        let venue = try await venues.venue(me.venueId ?? "")
        let published = try await catalogue.published()
        return renderer.page("venue", title: context.t("venue_page_title"), [
            "venue": venue.name,
            "items": venue.itemCodes.map { code in ["code": code, "name": published.items.first { $0.code == code }?.name ?? code] },
            "idempotencyKey": random.uuid(),
            // A card is checked by challenge and response: 16 fresh random bytes for its chip to sign (never reused for a card).
            "cardIdempotencyKey": random.uuid(),
            "challenge": Data(random.bytes(16)).base64EncodedString(),
        ], context: context)
    }
}
