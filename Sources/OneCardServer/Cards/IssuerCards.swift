import Foundation
import OneCardCore

/// A card as the agency desk sees it: one this node holds, or another province's card as its issuer answered through
/// the hub (ZJ art. 8: the issuing place handles its cards; API.md "Federation": lifecycle requests are forwarded).
enum DeskCard: Sendable {
    case own(Card)
    case issuer(IssuerCard)
}

/// Another province's card, in the words of its issuer's `GET /api/v1/cards/{n}` and `/events` answers.
struct IssuerCard: Sendable {
    struct View: Decodable, Sendable {
        struct Functions: Decodable, Sendable { let transit: Bool; let financial: Bool }
        let cardNumber: String, status: String, issuerRegion: String
        let functions: Functions, bankCode: String?, accountMasked: String?, issuedAt: String, expiresAt: String
    }
    struct Event: Decodable, Sendable { let at: String, type: String, actor: String, channel: String, reason: String? }
    fileprivate struct Events: Decodable { let events: [Event] }

    var card: View
    var events: [Event]
    /// The issuer's refusal of the action asked at this desk, when it refused (the card as it then stands is shown).
    var refusal: DomainError?

    /// The issuer's status for this card (`active`, `temporarily_lost`, …), nil when the issuer said something unknown here.
    var status: CardStatus? { CardStatus(rawValue: card.status) }
}

extension CardService {
    /// The one rule of routing: a card this node does not hold is, on a federated node, its issuer's to answer
    /// (through the hub); without a hub it stays `card_not_found`.
    func isForIssuer(_ error: DomainError) -> Bool { error.code == .cardNotFound && federation.isFederated }

    /// The card numbered `number` for staff: this node's own, or — on a federated node, for a card it does not hold —
    /// the card and its events as the issuer answers them through the hub. Throws the issuer's refusal (`card_not_found`
    /// when the hub knows no issuer) and `federation_unavailable` when the hub cannot be reached.
    func deskCard(_ number: CardNumber, actor: Actor) async throws -> DeskCard {
        do {
            return .own(try await card(number))
        } catch let e as DomainError where isForIssuer(e) {
            return .issuer(try await issuerCard(number, actor: actor))
        }
    }

    /// A lifecycle action at the desk: done here on this node's card (the result as `transition` gives it); on another
    /// province's card a loss report or an unlock is asked of the issuer, and the card comes back as the issuer then
    /// shows it, with its refusal if it refused. Other actions on another province's card are not offered at the desk.
    func deskTransition(_ number: CardNumber, _ action: CardAction, pin: PIN?, actor: Actor) async throws -> (DeskCard, TransitionResult?) {
        do {
            let result = try await transition(number, action, pin: pin, actor: actor)
            return (.own(result.card), result)
        } catch let e as DomainError where isForIssuer(e) {
            let request: (Federation.CardRequest, [String: String])
            switch action {
            case .reportLoss(let kind): request = (.reportLoss, ["kind": kind.rawValue])
            case .unlock: request = (.unlock, [:])
            default: throw e
            }
            let answer = try await federation.forward(.init(cardNumber: number.rawValue, action: request.0, body: request.1,
                                                            actor: actor.name, channel: actor.channel))
            var card = try await issuerCard(number, actor: actor)
            if answer.status >= 400 { card.refusal = answer.problem }
            return (.issuer(card), nil)
        }
    }

    private func issuerCard(_ number: CardNumber, actor: Actor) async throws -> IssuerCard {
        func ask(_ what: Federation.CardRequest) async throws -> SignedAnswer {
            try await federation.forward(.init(cardNumber: number.rawValue, action: what, body: [:], actor: actor.name, channel: actor.channel))
        }
        let view = try await ask(.view)
        guard view.status == 200 else { throw view.problem }
        let events = try await ask(.events)
        guard events.status == 200 else { throw events.problem }
        return IssuerCard(card: try view.decode(IssuerCard.View.self), events: try events.decode(IssuerCard.Events.self).events)
    }
}
