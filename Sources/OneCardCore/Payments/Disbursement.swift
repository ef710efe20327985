import Foundation

/// What a programme pays (CQ art. 12, GD art. 8, BJ art. 14: benefits, subsidies, scholarships, wages,
/// tax refunds and relief are paid through the card).
public enum ProgrammeKind: String, Codable, Sendable, CaseIterable {
    case pension, subsidy, scholarship, wage
    case taxRefund = "tax_refund"
    case relief, other
}

/// A benefit programme run by a department, with the legal basis it pays under.
public struct Programme: Sendable, Equatable {
    public typealias ID = Identifier<Programme>
    public var id: ID
    public var name: String
    public var kind: ProgrammeKind
    public var department: String
    public var legalBasis: String
    /// The department's account the money leaves from (informational; the bank settles it).
    public var fundingAccount: String?
    public var createdBy: String
    public var createdAt: Date

    public init(id: ID, name: String, kind: ProgrammeKind, department: String, legalBasis: String, fundingAccount: String?,
                createdBy: String, createdAt: Date) {
        self.id = id; self.name = name; self.kind = kind; self.department = department; self.legalBasis = legalBasis
        self.fundingAccount = fundingAccount; self.createdBy = createdBy; self.createdAt = createdAt
    }

    public func validate() throws(DomainError) {
        try TextRule.check(name, "name", max: 100, notBlank: true)
        try TextRule.check(department, "department", max: 100, notBlank: true)
        try TextRule.check(legalBasis, "legalBasis", max: 300, notBlank: true)
        if let fundingAccount { try AccountNumber.validate(fundingAccount, field: "fundingAccount") }
    }
}

/// Where a payment is. `pending` → `sent` → `paid` | `returned` | `failed`; `failed` and `returned` can be
/// retried (back to `pending`) once the cause is fixed. A pension payment of a pensioner whose qualification check is
/// overdue is `held` instead of sent (not lost, not paid) until a confirmation puts it back to `pending` (back pay), or a
/// reported death closes it `failed` (`deceased`).
public enum PaymentState: String, Codable, Sendable, CaseIterable {
    case pending, held, sent, paid, failed, returned

    public var isSettled: Bool { self == .paid || self == .failed || self == .returned }
    public var isRetryable: Bool { self == .failed || self == .returned }
}

/// A batch from upload to completion. An upload that was cut off (the client went away, the body was refused, the
/// server stopped) becomes `abandoned` and can never be approved or executed.
public enum BatchStatus: String, Codable, Sendable, CaseIterable {
    case uploading
    case awaitingApproval = "awaiting_approval"
    case approved, executing, completed, abandoned

    /// The four-eyes rule: the person who approves is not the person who uploaded.
    public static func approve(status: BatchStatus, uploadedBy: String, approver: String) throws(DomainError) -> BatchStatus {
        guard status == .awaitingApproval else { throw .invalidTransition("a batch that is \(status.rawValue) cannot be approved") }
        guard uploadedBy != approver else {
            throw DomainError(.fourEyesRequired, "a batch is approved by a second person, not by the one who uploaded it")
        }
        return .approved
    }

    /// Execution starts from `approved`; asking again while it runs or after it finished changes nothing.
    public static func execute(status: BatchStatus) throws(DomainError) -> BatchStatus {
        switch status {
        case .approved, .executing: return .executing
        case .completed: return .completed
        case .uploading, .awaitingApproval, .abandoned:
            throw DomainError(.batchNotApproved, "a batch is executed only after a second person approved it")
        }
    }
}

/// One line of an uploaded batch.
public struct BatchLine: Sendable, Equatable {
    public var line: Int
    public var idNumber: String
    public var name: String
    public var amountFen: Int64

    public init(line: Int, idNumber: String, name: String, amountFen: Int64) {
        self.line = line; self.idNumber = idNumber; self.name = name; self.amountFen = amountFen
    }
}

/// A line that was not accepted, and why (a stable reason code).
public struct RejectedLine: Sendable, Equatable {
    public var line: Int
    public var reason: String
    public init(line: Int, reason: String) { self.line = line; self.reason = reason }
}

/// Parses the CSV form of a batch (`idNumber,name,amountFen`, header first) one line at a time, so a
/// large upload is never held whole in memory.
public struct BatchCSV: Sendable {
    public static let header = ["idNumber", "name", "amountFen"]
    public private(set) var lineNumber = 0

    public init() {}

    public enum Parsed: Sendable, Equatable { case header, blank, line(BatchLine), rejected(RejectedLine) }

    /// A cell without surrounding spaces. Most cells have none: they are copied without going through Foundation's
    /// trimming (a fifth of the upload's parsing time).
    static func trimmed(_ cell: Substring) -> String {
        if let first = cell.first, let last = cell.last, !first.isWhitespace, !last.isWhitespace { return String(cell) }
        return cell.trimmingCharacters(in: .whitespaces)
    }

    /// Parses the next physical line (without its line break). Line numbers count data lines from 1.
    public mutating func parse(_ raw: String) throws(DomainError) -> Parsed {
        let text = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
        if lineNumber == 0 {
            let cells = text.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\u{FEFF}"))
            }
            guard cells == Self.header else {
                throw DomainError(.invalidCsvHeader, "the first line must be idNumber,name,amountFen")
            }
            lineNumber = 1
            return .header
        }
        if text.isEmpty || (text.first!.isWhitespace && text.trimmingCharacters(in: .whitespaces).isEmpty) { return .blank }
        let n = lineNumber
        lineNumber += 1
        let cells = text.split(separator: ",", omittingEmptySubsequences: false).map(Self.trimmed)
        guard cells.count == 3 else { return .rejected(RejectedLine(line: n, reason: "malformed_line")) }
        guard let amount = Int64(cells[2]) else { return .rejected(RejectedLine(line: n, reason: "invalid_amount")) }
        return .line(BatchLine(line: n, idNumber: cells[0], name: cells[1], amountFen: amount))
    }
}

/// The facts about a payee that a line is checked against, looked up by the caller.
public struct PayeeFacts: Sendable {
    public var personFound: Bool
    public var name: String?
    /// The person's live card has a financial account with a bank.
    public var hasFinancialAccount: Bool
    public var hasLiveCard: Bool
    /// The person's last card was cancelled because of death.
    public var deceased: Bool
    public var duplicateInBatch: Bool

    public init(personFound: Bool, name: String?, hasFinancialAccount: Bool, hasLiveCard: Bool, deceased: Bool, duplicateInBatch: Bool) {
        self.personFound = personFound; self.name = name; self.hasFinancialAccount = hasFinancialAccount
        self.hasLiveCard = hasLiveCard; self.deceased = deceased; self.duplicateInBatch = duplicateInBatch
    }
}

/// The one rule for whether a batch line may become a payment. Returns the reason it may not, or nil.
public enum PayeeCheck {
    /// At most 10 million yuan per line: a larger figure is a typing error, not a benefit.
    public static let maximumFen: Int64 = 1_000_000_000

    public static func syntaxReason(_ line: BatchLine, today: CalendarDay) -> String? {
        guard line.amountFen > 0 else { return "invalid_amount" }
        guard line.amountFen <= maximumFen else { return "amount_too_large" }
        guard (1...100).contains(line.name.count) else { return "invalid_name" }
        guard IDType.allCases.contains(where: { (try? IdentityNumber(line.idNumber, type: $0, today: today)) != nil }) else {
            return "invalid_id_number"
        }
        return nil
    }

    public static func reason(_ line: BatchLine, facts: PayeeFacts) -> String? {
        guard facts.personFound else { return "person_not_found" }
        guard facts.name == line.name else { return "name_mismatch" }
        // Payment to a deceased person is a risk the platform refuses outright (DESIGN capability 13).
        guard !facts.deceased else { return "deceased" }
        guard facts.hasLiveCard else { return "no_card" }
        guard facts.hasFinancialAccount else { return "no_financial_account" }
        guard !facts.duplicateInBatch else { return "duplicate_line" }
        return nil
    }
}

/// Counts and sums of a batch by payment state; `requested` is always the sum of the rest.
public struct BatchTotals: Sendable, Equatable {
    public var count: [PaymentState: Int] = [:]
    public var fen: [PaymentState: Int64] = [:]

    public init() {}

    public mutating func add(_ state: PaymentState, count n: Int, fen amount: Int64) {
        count[state, default: 0] += n
        fen[state, default: 0] += amount
    }

    public var requestedCount: Int { count.values.reduce(0, +) }
    public var requestedFen: Int64 { fen.values.reduce(0, +) }
    public var outstanding: Int { (count[.pending] ?? 0) + (count[.sent] ?? 0) }
}

/// An uploaded batch of payments for one programme.
public struct PaymentBatch: Sendable, Equatable {
    public typealias ID = Identifier<PaymentBatch>
    public var id: ID
    public var programmeId: Programme.ID
    public var status: BatchStatus
    public var uploadedBy: String
    public var approvedBy: String?
    public var createdAt: Date
    public var approvedAt: Date?
    public var completedAt: Date?
    public var rejectedCount: Int

    public init(id: ID, programmeId: Programme.ID, status: BatchStatus, uploadedBy: String, approvedBy: String? = nil, createdAt: Date,
                approvedAt: Date? = nil, completedAt: Date? = nil, rejectedCount: Int = 0) {
        self.id = id; self.programmeId = programmeId; self.status = status; self.uploadedBy = uploadedBy; self.approvedBy = approvedBy
        self.createdAt = createdAt; self.approvedAt = approvedAt; self.completedAt = completedAt; self.rejectedCount = rejectedCount
    }
}

/// One payment to one person.
public struct Payment: Sendable, Equatable {
    public typealias ID = String
    public var id: ID
    public var batchId: PaymentBatch.ID
    public var line: Int
    public var personId: Person.ID
    public var amountFen: Int64
    public var state: PaymentState
    /// Incremented only when a failed or returned payment is retried; the bank sees `bankReference`.
    public var attempt: Int
    public var bankCode: String?
    public var accountMasked: String?
    public var reason: String?
    public var sentAt: Date?
    public var settledAt: Date?

    public init(id: ID, batchId: PaymentBatch.ID, line: Int, personId: Person.ID, amountFen: Int64, state: PaymentState, attempt: Int,
                bankCode: String?, accountMasked: String?, reason: String?, sentAt: Date?, settledAt: Date?) {
        self.id = id; self.batchId = batchId; self.line = line; self.personId = personId; self.amountFen = amountFen; self.state = state
        self.attempt = attempt; self.bankCode = bankCode; self.accountMasked = accountMasked; self.reason = reason
        self.sentAt = sentAt; self.settledAt = settledAt
    }

    /// The id the bank keeps the payment under, and answers idempotently for. A retry after a failure or a
    /// return is a new attempt (the earlier one was not credited), so it gets a new reference.
    public static func bankReference(id: ID, attempt: Int) -> String { attempt <= 1 ? id : "\(id)-\(attempt)" }
}

/// Where a pending payment goes at execution time: to the holder's **current** account (GD art. 8:
/// "社会保障卡银行账号发生变更的，应当直接发放至变更后的银行账号，并告知持卡人").
public enum PaymentRouting {
    public enum Decision: Sendable, Equatable {
        case send(bankCode: String, account: String, endpoint: String)
        /// The bank is terminated and the holder's migration is not finished: keep the payment until it is (GD art. 20).
        case hold
        case fail(reason: String)
    }

    /// What routing needs of the holder's live card: its financial function and account.
    public struct CardAccount: Sendable, Equatable {
        public var financial: Bool, bankCode: String?, accountNumber: String?
        public init(financial: Bool, bankCode: String?, accountNumber: String?) {
            self.financial = financial; self.bankCode = bankCode; self.accountNumber = accountNumber
        }
    }

    public static func route(card: Card?, bank: Bank?) -> Decision {
        route(card.map { CardAccount(financial: $0.financial, bankCode: $0.bankCode, accountNumber: $0.accountNumber) }, bank: bank)
    }

    /// `card` is nil when the holder has no live card.
    public static func route(_ card: CardAccount?, bank: Bank?) -> Decision {
        guard let card else { return .fail(reason: "no_card") }
        guard card.financial, let code = card.bankCode, let account = card.accountNumber else { return .fail(reason: "no_financial_account") }
        guard let bank, bank.code == code else { return .fail(reason: "unknown_bank") }
        if bank.status == .terminated { return .hold }
        guard let endpoint = bank.endpoint else { return .fail(reason: "bank_not_connected") }
        return .send(bankCode: code, account: account, endpoint: endpoint)
    }
}

/// A bank's answer for one payment.
public enum BankOutcome: String, Codable, Sendable, CaseIterable {
    case credited
    /// The account is closed: the money comes back, permanently for this attempt.
    case returned
    /// The bank refused the payment for good (e.g. malformed); the platform marks it failed.
    case rejected
}
