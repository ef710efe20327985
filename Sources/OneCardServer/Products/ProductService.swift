import Foundation
import Logging
import OneCardCore
import OneCardStore

/// Products and utility bills paid from the card's account (北京市民生卡 art. 2: 公园年票, 生活缴费).
///
/// Money moves only through the bank's debit interface, each debit under the payment's own id: the payment is recorded
/// (`paying` / `charging`, with the account) in a committed transaction *before* the bank is called, so a bank that does
/// not answer, or a crash, leaves a record that the next attempt sends again under the same id — the bank answers
/// `duplicate` rather than take the money twice, and a taken debit is never left without its bill or pass.
struct ProductService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    let gateway: BankGateway
    let logger: Logger
    /// The products of this node's region (its pack).
    let products: [Product]

    // MARK: billers

    struct BillerInput: Sendable { var code: String; var name: String; var kind: Biller.Kind; var bankCode: String; var accountNumber: String }

    func registerBiller(_ i: BillerInput, actor: String) async throws -> Biller {
        let b = Biller(code: i.code, name: i.name, kind: i.kind, bankCode: i.bankCode, accountNumber: i.accountNumber, createdAt: clock.now())
        do {
            return try await store.write { s in
                guard try await s.banks.find(b.bankCode) != nil else { throw DomainError(.unknownBank, "account.bankCode: no cooperating bank \(b.bankCode)") }
                guard try await s.products.biller(b.code) == nil else { throw DomainError(.billerExists, "biller \(b.code) is registered") }
                try await s.products.insert(b)
                try await s.audit.append(at: b.createdAt, actor: actor, action: "biller_registered", subject: "biller:\(b.code)", purpose: b.kind.rawValue)
                return b
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.billerExists, "biller \(b.code) is registered")
        }
    }

    func billers() async throws -> [Biller] { try await store.read { try await $0.products.billers() } }

    // MARK: bills

    struct BillInput: Sendable, Equatable { var biller: String; var customerRef: String; var amountFen: Int }

    /// Pays a bill from the holder's card account once per Idempotency-Key: a repeat answers what the first got (paid,
    /// or refused for want of money), and one whose bank did not answer is asked again under the same debit id.
    func payBill(personId: Person.ID, _ i: BillInput, idempotencyKey: String, actor: String) async throws -> BillPayment {
        let now = clock.now()
        let bill: BillPayment
        do {
            bill = try await store.write { s -> BillPayment in
                if let prior = try await s.products.bill(personId: personId, idempotencyKey: idempotencyKey) {
                    guard prior.biller == i.biller, prior.customerRef == i.customerRef, prior.amountFen == i.amountFen else {
                        throw DomainError(.idempotencyKeyReused, "this Idempotency-Key paid another bill; use a new key")
                    }
                    return prior
                }
                guard try await s.products.biller(i.biller) != nil else { throw DomainError(.billerNotFound, "no biller \(i.biller)") }
                let (bankCode, account) = try await Self.cardAccount(personId, in: s)
                let b = BillPayment(id: random.uuid(), personId: personId, biller: i.biller, customerRef: i.customerRef, amountFen: i.amountFen,
                                    status: .paying, idempotencyKey: idempotencyKey, bankCode: bankCode, account: account, createdAt: now)
                try await s.products.insert(b)
                try await s.audit.append(at: now, actor: actor, action: "bill_payment_started", subject: "person:\(personId)",
                                         purpose: "bill:\(b.id) \(i.biller) \(i.amountFen)")
                return b
            }
        } catch where Store.isUniqueViolation(error) {
            // A concurrent request with the same key recorded it first: answer as its repeat.
            return try await payBill(personId: personId, i, idempotencyKey: idempotencyKey, actor: actor)
        }
        switch bill.status {
        case .paid: return bill
        case .failed: throw DomainError(.insufficientFunds, "not enough money in the card's account for this bill; nothing was taken")
        case .paying: break
        }
        let answer = try await debit(bankCode: bill.bankCode, .init(debitId: bill.debitId, account: bill.account, amountFen: Int64(bill.amountFen)))
        switch try await finish(bill, answer, actor: actor) {
        case .paid: var paid = bill; paid.status = .paid; paid.settledAt = clock.now(); return paid
        case .failed: throw DomainError(.insufficientFunds, "not enough money in the card's account for this bill; nothing was taken")
        case .paying: throw DomainError(.bankUnavailable, "the bank did not answer; repeat with the same Idempotency-Key: the bill is paid once")
        }
    }

    /// Records the bank's answer to a bill's debit: the one place a bill is settled, by the holder's request or the sweep.
    private func finish(_ bill: BillPayment, _ answer: DebitAnswer, actor: String) async throws -> BillPayment.Status {
        let at = clock.now()
        switch answer {
        case .taken:
            try await store.write { s in
                if try await s.products.settle(bill: bill.id, to: .paid, at: at) {
                    try await s.audit.append(at: at, actor: actor, action: "bill_paid", subject: "person:\(bill.personId)", purpose: "bill:\(bill.id)")
                }
            }
            return .paid
        case .insufficientFunds:
            try await store.write { s in
                if try await s.products.settle(bill: bill.id, to: .failed, at: at) {
                    try await s.audit.append(at: at, actor: actor, action: "bill_refused", subject: "person:\(bill.personId)",
                                             purpose: "bill:\(bill.id) insufficient_funds")
                }
            }
            return .failed
        case .unknown:
            return .paying
        }
    }

    func bills(personId: Person.ID) async throws -> [BillPayment] { try await store.read { try await $0.products.bills(personId: personId) } }

    // MARK: passes

    func product(_ code: String) -> Product? { products.first { $0.code == code } }

    /// Buys a pass of a product for a year, paid from the card's account before the answer. A second one for the same
    /// year is refused with nothing taken; a purchase whose bank did not answer is completed by asking again under the
    /// same debit id.
    func buyPass(personId: Person.ID, product code: String, year: Int, actor: String) async throws -> Pass {
        guard let product = product(code) else { throw DomainError(.productNotFound, "no product \(code) in this region's pack") }
        let now = clock.now()
        guard Product.offered(year: year, today: CalendarDay(now)), let period = Product.period(year: year) else {
            throw DomainError(.passYearNotOffered, "passes are sold for \(CalendarDay(now).year) and \(CalendarDay(now).year + 1)")
        }
        let (pass, bankCode, account): (Pass, String, String)
        do {
            (pass, bankCode, account) = try await store.write { s -> (Pass, String, String) in
                if let live = try await s.products.livePass(personId: personId, product: code, year: year) {
                    guard live.pass.status == .charging else {
                        throw DomainError(.passExists, "you have the \(code) pass for \(year); nothing was taken")
                    }
                    return live
                }
                let (bankCode, account) = try await Self.cardAccount(personId, in: s)
                let p = Pass(id: random.uuid(), personId: personId, product: code, year: year, validFrom: period.from, validTo: period.to,
                             chargedFen: product.priceFen, status: .charging, boughtAt: now)
                try await s.products.insert(p, bankCode: bankCode, account: account)
                try await s.audit.append(at: now, actor: actor, action: "pass_purchase_started", subject: "person:\(personId)",
                                         purpose: "pass:\(p.id) \(code) \(year)")
                return (p, bankCode, account)
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.passExists, "you have the \(code) pass for \(year); nothing was taken")
        }
        let answer = try await debit(bankCode: bankCode, .init(debitId: Self.debitId(pass), account: account, amountFen: Int64(pass.chargedFen)))
        switch try await finish(pass, answer, actor: actor) {
        case .active: var bought = pass; bought.status = .active; return bought
        case .failed: throw DomainError(.insufficientFunds, "not enough money in the card's account for the \(code) pass; nothing was taken")
        default: throw DomainError(.bankUnavailable, "the bank did not answer; ask for the pass again: it is paid once")
        }
    }

    /// The pass's debit at the bank, the same on every attempt.
    static func debitId(_ pass: Pass) -> String { "pass:" + pass.id }

    /// Records the bank's answer to a pass's debit: the one place a pass is settled, by the holder's request or the sweep.
    private func finish(_ pass: Pass, _ answer: DebitAnswer, actor: String) async throws -> Pass.Status {
        let at = clock.now()
        switch answer {
        case .taken:
            try await store.write { s in
                if try await s.products.settle(pass: pass.id, to: .active, at: at) {
                    try await s.audit.append(at: at, actor: actor, action: "pass_bought", subject: "person:\(pass.personId)", purpose: "pass:\(pass.id)")
                }
            }
            return .active
        case .insufficientFunds:
            try await store.write { s in
                if try await s.products.settle(pass: pass.id, to: .failed, at: at) {
                    try await s.audit.append(at: at, actor: actor, action: "pass_refused", subject: "person:\(pass.personId)",
                                             purpose: "pass:\(pass.id) insufficient_funds")
                }
            }
            return .failed
        case .unknown:
            return .charging
        }
    }

    /// Settles bills and passes whose answer was lost (started more than `after` ago and still under way): the debit is
    /// sent again under its own id, so a bank that took the money answers with that and takes nothing more, and one that
    /// never saw it takes it now — the holder's money and the bill or pass always end up agreeing, even when nobody asks
    /// again. Returns how many were settled.
    @discardableResult
    func settleUnderWay(after: Duration = .seconds(30), limit: Int = 200) async throws -> Int {
        let before = clock.now().addingTimeInterval(-Double(after.components.seconds))
        let (bills, passes) = try await store.read { s in
            (try await s.products.billsUnderWay(startedBefore: before, limit: limit), try await s.products.passesUnderWay(startedBefore: before, limit: limit))
        }
        var settled = 0
        for bill in bills {
            let answer = try await debit(bankCode: bill.bankCode, .init(debitId: bill.debitId, account: bill.account, amountFen: Int64(bill.amountFen)))
            if try await finish(bill, answer, actor: "system") != .paying { settled += 1 }
        }
        for p in passes {
            let answer = try await debit(bankCode: p.bankCode, .init(debitId: Self.debitId(p.pass), account: p.account, amountFen: Int64(p.pass.chargedFen)))
            if try await finish(p.pass, answer, actor: "system") != .charging { settled += 1 }
        }
        return settled
    }

    func passes(personId: Person.ID) async throws -> [Pass] { try await store.read { try await $0.products.passes(personId: personId) } }

    /// The entitlement codes (`pass:<product>`) of a person's passes in force on a day: what the catalogue's `requires`
    /// check reads for products (the single entitlement function adds them to certificates and age).
    func activePassCodes(personId: Person.ID, on day: CalendarDay) async throws -> [String] {
        let passes = try await store.read { try await $0.products.activePasses(personId: personId, on: day) }
        return Array(Set(passes.map { Pass.entitlement(product: $0.product) })).sorted()
    }

    // MARK: the bank

    /// The account of the holder's live card, which bills and passes are paid from.
    static func cardAccount(_ personId: Person.ID, in s: StoreSession) async throws -> (String, String) {
        guard let a = try await s.transit.liveAccounts(persons: [personId])[personId] else {
            throw DomainError(.noCard, "no card with a bank account to pay from")
        }
        return (a.bankCode, a.account)
    }

    /// One debit at the card's bank; `.unknown` when the bank cannot be reached or gives no answer for it.
    func debit(bankCode: String, _ d: BankGateway.Debit) async throws -> DebitAnswer {
        guard let endpoint = try await store.read({ try await $0.banks.find(bankCode) })?.endpoint else { return .unknown }
        do {
            let results = try await gateway.debit(endpoint: endpoint, [d])
            return results.first { $0.debitId == d.debitId }.map { DebitAnswer(status: $0.status) } ?? .unknown
        } catch {
            logger.warning("bank unavailable for a card debit; it stays under way", metadata: ["bank": "\(bankCode)", "error": "\(error)"])
            return .unknown
        }
    }
}
