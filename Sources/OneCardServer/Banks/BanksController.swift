import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Bank status and migration plans, and the card's choice of bank.
struct BanksController {
    let banking: BankService
    let cards: CardService

    struct PatchInput: Decodable {
        let status: String?
        let successorBankCode: String?
        let choiceDays: Int?
        let endpoint: String?
    }
    struct AccountInput: Decodable { let bankCode: String; let accountNumber: String }
    struct ApplyInput: Decodable { let early: Bool? }

    struct CardAccountView: Encodable, Sendable {
        let cardNumber: String, bankCode: String?, accountMasked: String?, financial: Bool
        init(_ c: Card) { cardNumber = c.number.rawValue; bankCode = c.bankCode; accountMasked = c.accountNumber.map(Mask.account); financial = c.financial }
    }

    struct MigrationView: Encodable, Sendable {
        static let schema = Schema.named("BankMigration", .object([
                ("bankCode", .text), ("successorBankCode", .text), ("chooseBy", .dateTime), ("status", .string(values: ["open", "applied"])),
                ("createdAt", .dateTime), ("appliedAt", .nullable(.dateTime)),
                ("counts", .object([("total", .integer), ("pending", .integer), ("chosen", .integer), ("moved", .integer)],
                                   required: ["total", "pending", "chosen", "moved"])),
                ("heldPayments", .integer),
                ("cards", .array(.object([("cardNumber", .text), ("status", .oneOf(MigrationCardStatus.self)), ("newBankCode", .nullable(.text))],
                                         required: ["cardNumber", "status"]))),
            ], required: ["bankCode", "successorBankCode", "chooseBy", "status", "counts", "heldPayments", "cards"]))

        struct Counts: Encodable, Sendable { let total: Int, pending: Int, chosen: Int, moved: Int }
        struct Item: Encodable, Sendable { let cardNumber: String, status: String, newBankCode: String? }
        let bankCode: String, successorBankCode: String, chooseBy: String, status: String, createdAt: String, appliedAt: String?
        let counts: Counts, heldPayments: Int, cards: [Item]
        init(_ r: BankService.Report) {
            let m = r.migration
            bankCode = m.bankCode; successorBankCode = m.successorCode; chooseBy = Timestamp.format(m.chooseBy); status = m.status.rawValue
            createdAt = Timestamp.format(m.createdAt); appliedAt = m.appliedAt.map(Timestamp.format)
            counts = Counts(total: r.cards.count, pending: r.cards.filter { $0.status == .pending }.count,
                            chosen: r.cards.filter { $0.status == .chosen }.count, moved: r.cards.filter { $0.status == .moved }.count)
            heldPayments = r.heldPayments
            cards = r.cards.map { Item(cardNumber: $0.cardNumber.rawValue, status: $0.status.rawValue, newBankCode: $0.newBankCode) }
        }
    }

    func register(_ api: API) {
        api.add(.get,   "/api/v1/banks/{code}",                 roles: .anyone,                          showBank)
        api.add(.patch, "/api/v1/banks/{code}",                 roles: [.admin],                         updateBank)
        api.add(.get,   "/api/v1/banks/{code}/migration",       roles: [.admin, .auditor, .agent],       showMigration)
        api.add(.post,  "/api/v1/banks/{code}/migration/apply", roles: [.admin],                         applyMigration)
        api.add(.post,  "/api/v1/cards/{cardNumber}/bank",      roles: [.agent, .admin, .bank, .holder], switchBankAccount)
    }

    // MARK: handlers

    var showBank: Handler {
        Handler("One cooperating bank with its agreement and status (public)", tag: "banks", success: (200, "The bank", Docs.bank),
                errors: [.bankNotFound]) { _, context in
            JSONResponse(RegistryController.BankView(try await banking.bank(context.parameters.get("code") ?? "")))
        }
    }

    var updateBank: Handler {
        Handler("Suspend, reactivate or terminate a bank (termination takes successorBankCode and opens a migration plan), or set its endpoint",
                tag: "banks",
                request: .either(["status", "endpoint"].map { Docs.bankChange(requiring: $0) }),
                success: (200, "The bank", Docs.bank),
                errors: [.bankNotFound, .invalidTransition, .successorRequired, .invalidSuccessor]) { request, context in
            let code = context.parameters.get("code") ?? ""
            let i = try await request.decodeJSON(as: PatchInput.self, context: context)
            let status: Bank.Status? = try i.status.map { try parseEnum($0, "status") }
            if status == nil, i.endpoint == nil { throw DomainError.invalidField("status", "give status or endpoint") }
            let b = try await banking.update(code, status: status, successorCode: i.successorBankCode, choiceDays: i.choiceDays,
                                                      endpoint: i.endpoint.map { Optional($0) }, actor: context.identity!.actor)
            return JSONResponse(RegistryController.BankView(b))
        }
    }

    var showMigration: Handler {
        Handler("A terminated bank's migration plan and its progress",
                tag: "banks",
                success: (200, "The plan", MigrationView.schema),
                errors: [.bankNotFound, .migrationNotFound]) { _, context in
            JSONResponse(MigrationView(try await banking.migration(context.parameters.get("code") ?? "")))
        }
    }

    var applyMigration: Handler {
        Handler("Apply the successor to every card still waiting (automatic when the choice period ends; early=true applies it now)",
                tag: "banks",
                request: .object([("early", .boolean)], required: []),
                success: (200, "The plan", MigrationView.schema),
                errors: [.bankNotFound, .migrationNotFound, .migrationChoiceOpen, .successorNotActive]) { request, context in
            let i = try await request.decodeJSON(as: ApplyInput.self, context: context)
            let r = try await banking.applyMigration(context.parameters.get("code") ?? "", actor: CardsController.actor(context, channel: "admin"),
                                                              early: i.early ?? false)
            return JSONResponse(MigrationView(r))
        }
    }

    var switchBankAccount: Handler {
        Handler("Choose or switch the card's bank and account (agent, bank, or the holder for their own card)",
                tag: "banks",
                request: .object([("bankCode", .text), ("accountNumber", .string(pattern: "^[0-9]{10,30}$"))], required: ["bankCode", "accountNumber"]),
                success: (200, "The card's account, masked", .object([
                       ("cardNumber", .text), ("bankCode", .nullable(.text)), ("accountMasked", .nullable(.text)), ("financial", .boolean),
                    ], required: ["cardNumber", "bankCode", "accountMasked", "financial"])),
                errors: [.cardNotFound, .bankNotAccepting, .invalidTransition, .unknownBank]) { request, context in
            let number = context.parameters.get("cardNumber") ?? ""
            let i = try await request.decodeJSON(as: AccountInput.self, context: context)
            let identity = context.identity!
            if identity.role == .holder {
                let card = try await cards.card(try .existing(number))
                guard card.personId == identity.personId else { throw DomainError.forbidden }
            }
            let channel = identity.role == .holder ? "web" : identity.role == .bank ? "bank" : "counter"
            let card = try await banking.switchAccount(cardNumber: number, bankCode: i.bankCode, accountNumber: i.accountNumber,
                                                                actor: CardsController.actor(context, channel: channel))
            return JSONResponse(CardAccountView(card))
        }
    }

    /// Schemas, roles and error lists several handlers share.
    enum Docs {
        /// A change to a bank: its status (with a successor and choice period when terminated) or its endpoint, or both.
        static func bankChange(requiring field: String) -> Schema {
            .object([("status", .oneOf(Bank.Status.self)), ("successorBankCode", .text), ("choiceDays", .integerIn(minimum: 0, maximum: 365)),
                     ("endpoint", .string(format: "uri", pattern: "^https?://[^/?#:]+"))], required: [field])
        }
        static let bank = Schema.ref("Bank")
    }
}
