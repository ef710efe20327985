import Foundation

/// A product the region sells on the card (北京市民生卡 art. 2: 公园年票 and the like): priced in fen, valid for a
/// calendar year, and opening catalogue items as the entitlement `pass:<code>`. Defined in the region's pack.
public struct Product: Codable, Sendable, Equatable {
    public var code: String
    public var name: String
    public var nameEn: String
    public var priceFen: Int
    /// The catalogue items a pass of this product opens (the catalogue's `requires` check reads its entitlement).
    public var itemCodes: [String]
    /// Where the product and its price come from; `[U]` marks a preset not confirmed by a source.
    public var basis: String

    public init(code: String, name: String, nameEn: String, priceFen: Int, itemCodes: [String], basis: String) {
        self.code = code; self.name = name; self.nameEn = nameEn; self.priceFen = priceFen; self.itemCodes = itemCodes; self.basis = basis
    }

    /// The entitlement code a pass of this product grants (API.md: `pass:park_annual`).
    public var entitlement: String { Pass.entitlement(product: code) }

    /// A product's pass is valid for one calendar year (a 年票 is sold per year), 1 January to 31 December.
    public static func period(year: Int) -> (from: CalendarDay, to: CalendarDay)? {
        guard let from = CalendarDay(year: year, month: 1, day: 1), let to = CalendarDay(year: year, month: 12, day: 31) else { return nil }
        return (from, to)
    }

    /// A pass can be bought for the current year and the next (sales of next year's pass open before it starts), never
    /// for a year that has ended.
    public static func offered(year: Int, today: CalendarDay) -> Bool { year == today.year || year == today.year + 1 }
}

/// A pass bought by a holder.
public struct Pass: Sendable, Equatable {
    public var id: String
    public var personId: Person.ID
    public var product: String
    public var year: Int
    public var validFrom: CalendarDay
    public var validTo: CalendarDay
    public var chargedFen: Int
    public var status: Status
    public var boughtAt: Date

    /// `charging`: recorded and sent to the bank, answer not yet known; `active`: paid; `failed`: the bank took nothing.
    public enum Status: String, Sendable, CaseIterable { case charging, active, failed }

    public init(id: String, personId: Person.ID, product: String, year: Int, validFrom: CalendarDay, validTo: CalendarDay, chargedFen: Int,
                status: Status, boughtAt: Date) {
        self.id = id; self.personId = personId; self.product = product; self.year = year; self.validFrom = validFrom; self.validTo = validTo
        self.chargedFen = chargedFen; self.status = status; self.boughtAt = boughtAt
    }

    public static func entitlement(product: String) -> String { "pass:" + product }

    /// Whether the pass opens its items on `day`: paid and within its validity.
    public func active(on day: CalendarDay) -> Bool { status == .active && validFrom <= day && day <= validTo }
}

/// A registered biller (生活缴费: water, electricity, gas, heating, phone) and the account its payments go to.
public struct Biller: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case water, electricity, gas, heating, phone }
    public var code: String
    public var name: String
    public var kind: Kind
    public var bankCode: String
    public var accountNumber: String
    public var createdAt: Date

    public init(code: String, name: String, kind: Kind, bankCode: String, accountNumber: String, createdAt: Date) {
        self.code = code; self.name = name; self.kind = kind; self.bankCode = bankCode; self.accountNumber = accountNumber; self.createdAt = createdAt
    }

    public static func validCode(_ code: String) -> Bool {
        (2...40).contains(code.count) && code.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}

/// A utility bill paid from the card's account, once per Idempotency-Key.
///
/// States: `paying` — recorded in a committed transaction with the account it is debited from *before* the bank is
/// called under the payment's own debit id, so a bank that does not answer (or a crash) leaves a record that is asked
/// again under the same id (the bank answers `duplicate` rather than take it twice); `paid` — the bank took it;
/// `failed` — the bank took nothing (not enough money). A paid bill is never left unrecorded and never debited twice.
public struct BillPayment: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable { case paying, paid, failed }
    public var id: String
    public var personId: Person.ID
    public var biller: String
    public var customerRef: String
    public var amountFen: Int
    public var status: Status
    public var idempotencyKey: String
    public var bankCode: String
    public var account: String
    public var createdAt: Date
    public var settledAt: Date?

    public init(id: String, personId: Person.ID, biller: String, customerRef: String, amountFen: Int, status: Status, idempotencyKey: String,
                bankCode: String, account: String, createdAt: Date, settledAt: Date? = nil) {
        self.id = id; self.personId = personId; self.biller = biller; self.customerRef = customerRef; self.amountFen = amountFen
        self.status = status; self.idempotencyKey = idempotencyKey; self.bankCode = bankCode; self.account = account
        self.createdAt = createdAt; self.settledAt = settledAt
    }

    /// The largest bill paid from a card at once (¥50,000), so a typing slip does not empty an account.
    public static let maxAmountFen = 5_000_000

    /// The debit id at the bank: the payment's own id, so a retry is recognised as the same debit.
    public var debitId: String { "bill:" + id }
}

/// What the bank answered a debit: one rule for bills and passes.
public enum DebitAnswer: Sendable, Equatable {
    case taken, insufficientFunds, unknown

    /// `ok` and `duplicate` (taken before under this id) both mean the money was taken once.
    public init(status: String) {
        switch status {
        case "ok", "duplicate": self = .taken
        case "insufficient_funds": self = .insufficientFunds
        default: self = .unknown
        }
    }
}
