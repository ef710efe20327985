import Foundation
import OneCardCore
import OneCardStore

/// Cooperating banks' status and migration plans, and the holder's choice of bank.
struct BankService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    /// Wakes the payment executor after a bank or account change.
    let paymentWork: WorkSignal
    var now: Date { clock.now() }

    /// How long holders of a terminated bank may choose another bank before the successor is applied. The
    /// regulations leave the period open (GD art. 20 asks for a contingency plan without harm to holders);
    /// 30 days unless the decision says otherwise.
    static let defaultChoiceDays = 30

    func bank(_ code: String) async throws -> Bank {
        guard let b = try await store.read({ try await $0.banks.find(code) }) else { throw DomainError(.bankNotFound, "no bank \(code)") }
        return b
    }

    /// Suspends, reactivates or terminates a bank, or changes its endpoint. Termination opens the migration plan
    /// and tells every affected holder in the same transaction (GD art. 20).
    func update(_ code: String, status: Bank.Status?, successorCode: String?, choiceDays: Int?, endpoint: String??, actor: String) async throws -> Bank {
        // Held or stuck payments may go out now: the executor looks at once.
        defer { paymentWork.signal() }
        let at = now
        if let choiceDays, !(0...365).contains(choiceDays) { throw DomainError.invalidField("choiceDays", "0 to 365") }
        return try await store.write { s in
            try await Self.change(code, status: status, successorCode: successorCode, choiceDays: choiceDays, endpoint: endpoint, actor: actor, at: at, in: s)
        }
    }

    /// The change itself, in the caller's transaction (an enforcement case suspends or terminates a bank in the same
    /// transaction as its own record, GD art. 20).
    static func change(_ code: String, status: Bank.Status?, successorCode: String?, choiceDays: Int?, endpoint: String??, actor: String, at: Date,
                       in s: StoreSession) async throws -> Bank {
        guard var bank = try await s.banks.find(code) else { throw DomainError(.bankNotFound, "no bank \(code)") }
        if let endpoint { bank.endpoint = endpoint }
        try bank.validate()
        if let status {
            var successor: Bank? = nil
            if let successorCode {
                successor = try await s.banks.find(successorCode)
                if successor == nil, status == .terminated { throw DomainError(.invalidSuccessor, "no bank \(successorCode)") }
            }
            try BankStatusChange.check(from: bank.status, to: status, successor: successor, code: code)
            bank.status = status
            if status == .terminated, let successor {
                let days = choiceDays ?? Self.defaultChoiceDays
                let chooseBy = at.addingTimeInterval(TimeInterval(days) * 86_400)
                try await s.bankMigrations.create(
                    bankCode: code, successorCode: successor.code, chooseBy: chooseBy, at: at,
                    notice: ["bankName": bank.name, "bankCode": code, "chooseBy": Timestamp.format(chooseBy),
                             "successorName": successor.name, "successorCode": successor.code])
            }
            try await s.audit.append(at: at, actor: actor, action: "bank_\(status.rawValue)", subject: "bank:\(code)",
                                     purpose: successorCode.map { "successor \($0)" })
        }
        try await s.banks.update(code: code, status: bank.status, endpoint: bank.endpoint)
        return bank
    }

    /// The holder's choice of bank (GD art. 5: "持卡人可以在合作金融机构中自愿选择、更换金融机构"): the card's account
    /// becomes the given one, recorded as a card event; a card waiting in a migration plan leaves it.
    func switchAccount(cardNumber: String, bankCode: String, accountNumber: String, actor: Actor) async throws -> Card {
        // Held or stuck payments may go out now: the executor looks at once.
        defer { paymentWork.signal() }
        try AccountNumber.validate(accountNumber)
        let at = now
        let today = CalendarDay(clock.now())
        return try await store.write { s in
            // A malformed number names no card: it answers like an unknown one.
            guard let number = try? CardNumber(cardNumber), var card = try await s.cards.find(number, lock: true) else {
                throw DomainError(.cardNotFound, "no card \(cardNumber)")
            }
            guard card.status.isLive else { throw DomainError.invalidTransition("a card that is \(card.status.rawValue) has no account to change") }
            guard let bank = try await s.banks.find(bankCode) else { throw DomainError(.unknownBank, "no cooperating bank \(bankCode)") }
            guard bank.acceptsNewCards(on: today) else {
                throw DomainError(.bankNotAccepting, "bank \(bankCode) does not take new cards (status \(bank.status.rawValue) or agreement not in force)")
            }
            let old = card.bankCode
            card.bankCode = bankCode
            card.accountNumber = accountNumber
            card.financial = true
            try await s.cards.update(card)
            try await s.events.append(CardEvent(at: at, type: "bank_account_changed", actor: actor.name, channel: actor.channel,
                                                reason: "\(old ?? "none") → \(bankCode) \(Mask.account(accountNumber))", cardNumber: card.number, applicationId: nil))
            try await s.audit.append(at: at, actor: actor.name, action: "card_bank_changed", subject: "card:\(cardNumber)", purpose: nil)
            if let old, old != bankCode {
                try await s.bankMigrations.mark(cardNumber: card.number, from: old, status: .chosen, newBankCode: bankCode, at: at)
            }
            return card
        }
    }

    struct Report: Sendable {
        var migration: BankMigration
        var cards: [BankMigration.Card]
        var heldPayments: Int
    }

    /// Banks whose migration plan's choice period is over, for the executor's loop to apply.
    func migrationsDue() async throws -> [String] {
        try await store.read { [now] in try await $0.bankMigrations.due(at: now) }
    }

    /// Why a bank has no migration plan: there is no such bank (404), or it is not terminated (409: the plan exists
    /// only from termination on, so asking for it is a conflict with the bank's state, not a missing address).
    static func noPlan(_ code: String, in s: StoreSession) async throws -> DomainError {
        guard try await s.banks.find(code) != nil else { return DomainError(.bankNotFound, "no bank \(code)") }
        return DomainError(.migrationNotFound, "bank \(code) has no migration plan (it is not terminated)")
    }

    func migration(_ code: String) async throws -> Report {
        try await store.read { s in
            guard let m = try await s.bankMigrations.find(code) else { throw try await Self.noPlan(code, in: s) }
            return Report(migration: m, cards: try await s.bankMigrations.cards(code), heldPayments: try await s.bankMigrations.heldPayments(code))
        }
    }

    /// Applies the successor to every card still waiting: the successor opens an account, the card moves,
    /// the holder is told, and held payments go out to the new account on the executor's next pass.
    func applyMigration(_ code: String, actor: Actor, early: Bool = false) async throws -> Report {
        // Held or stuck payments may go out now: the executor looks at once.
        defer { paymentWork.signal() }
        let at = now
        let random = random
        try await store.write { s in
            guard let m = try await s.bankMigrations.find(code) else { throw try await Self.noPlan(code, in: s) }
            guard m.status == .open else { return }
            guard early || at >= m.chooseBy else {
                throw DomainError(.migrationChoiceOpen, "holders may choose a bank until \(Timestamp.format(m.chooseBy)); pass early=true to apply now")
            }
            guard let successor = try await s.banks.find(m.successorCode) else { throw DomainError(.bankNotFound, "no bank \(m.successorCode)") }
            // A successor that was itself suspended or terminated meanwhile cannot take the cards over.
            guard successor.status == .active else {
                throw DomainError(.successorNotActive, "the successor \(successor.code) is \(successor.status.rawValue); holders keep choosing")
            }
            for item in try await s.bankMigrations.cards(code, status: .pending) {
                guard var card = try await s.cards.find(item.cardNumber, lock: true), card.status.isLive, card.bankCode == code else {
                    try await s.bankMigrations.mark(cardNumber: item.cardNumber, from: code, status: .moved, newBankCode: "none", at: at)
                    continue
                }
                // The successor bank opens the account (simulated here as at card issue).
                let account = CardService.openAccount(bank: successor.code, random: random)
                card.bankCode = successor.code
                card.accountNumber = account
                try await s.cards.update(card)
                try await s.events.append(CardEvent(at: at, type: "bank_migrated", actor: actor.name, channel: actor.channel,
                                                    reason: "\(code) → \(successor.code) \(Mask.account(account))", cardNumber: card.number, applicationId: nil))
                try await s.bankMigrations.mark(cardNumber: card.number, from: code, status: .moved, newBankCode: successor.code, at: at)
                try await s.payments.notify(personId: card.personId, at: at, kind: .bankMigrated,
                                            parameters: ["successorName": successor.name, "successorCode": successor.code, "account": Mask.account(account)])
            }
            try await s.bankMigrations.markApplied(code, at: at)
            try await s.audit.append(at: at, actor: actor.name, action: "bank_migration_applied", subject: "bank:\(code)", purpose: "successor \(successor.code)")
        }
        return try await migration(code)
    }
}

