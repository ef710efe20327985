import Foundation
import Testing
@testable import OneCardCore

@Suite("Disbursement rules: batches, lines, routing, totals")
struct DisbursementTests {
    static let today = CalendarDay(year: 2026, month: 11, day: 18)!
    static let id = "11010519850312123" + String(IdentityNumber.checkCharacter(for: Array("11010519850312123"))!)

    func card(bank: String? = "ICBC", account: String? = "6210000000000001234", status: CardStatus = .active) -> Card {
        Card(number: "A12345678", identificationCode: "x", personId: "p", applicationId: nil, issuerRegion: "110000", status: status,
             transit: true, financial: account != nil, bankCode: bank, accountNumber: account, pinHash: nil, issuedAt: Date(), expiresAt: Date())
    }

    func bank(_ code: String = "ICBC", status: Bank.Status = .active, endpoint: String? = "http://127.0.0.1:9") -> Bank {
        Bank(code: code, name: "银行", agreementFrom: Self.today, agreementTo: Self.today, endpoint: endpoint, status: status)
    }

    @Test func fourEyes() throws {
        #expect(try BatchStatus.approve(status: .awaitingApproval, uploadedBy: "department:a", approver: "department:b") == .approved)
        #expect(throws: DomainError(.fourEyesRequired, "a batch is approved by a second person, not by the one who uploaded it")) {
            try BatchStatus.approve(status: .awaitingApproval, uploadedBy: "department:a", approver: "department:a")
        }
        for s in [BatchStatus.uploading, .approved, .executing, .completed] {
            #expect(throws: DomainError.self) { try BatchStatus.approve(status: s, uploadedBy: "a", approver: "b") }
        }
    }

    @Test func executeOnlyAfterApproval() throws {
        #expect(try BatchStatus.execute(status: .approved) == .executing)
        #expect(try BatchStatus.execute(status: .executing) == .executing)
        #expect(try BatchStatus.execute(status: .completed) == .completed)
        for s in [BatchStatus.uploading, .awaitingApproval] {
            #expect(throws: DomainError(.batchNotApproved, "a batch is executed only after a second person approved it")) {
                try BatchStatus.execute(status: s)
            }
        }
    }

    @Test func csvLinesAreParsedOneAtATimeWithReasons() throws {
        var csv = BatchCSV()
        #expect(try csv.parse("\u{FEFF}idNumber,name,amountFen\r") == .header)
        #expect(try csv.parse("\(Self.id),王秀梅,12345") == .line(BatchLine(line: 1, idNumber: Self.id, name: "王秀梅", amountFen: 12345)))
        #expect(try csv.parse("") == .blank)
        #expect(try csv.parse("\(Self.id),王秀梅") == .rejected(RejectedLine(line: 2, reason: "malformed_line")))
        #expect(try csv.parse("\(Self.id),王秀梅,12.5") == .rejected(RejectedLine(line: 3, reason: "invalid_amount")))
        var bad = BatchCSV()
        #expect(throws: DomainError.self) { try bad.parse("id,name,amount") }
    }

    @Test func lineSyntax() {
        func reason(_ id: String = Self.id, name: String = "王秀梅", fen: Int64 = 100) -> String? {
            PayeeCheck.syntaxReason(BatchLine(line: 1, idNumber: id, name: name, amountFen: fen), today: Self.today)
        }
        #expect(reason() == nil)
        #expect(reason(fen: 0) == "invalid_amount")
        #expect(reason(fen: -5) == "invalid_amount")
        #expect(reason(fen: PayeeCheck.maximumFen + 1) == "amount_too_large")
        let wrongCheck = String(Self.id.dropLast()) + (Self.id.last == "0" ? "1" : "0")
        #expect(reason(wrongCheck) == "invalid_id_number")
        #expect(reason("12345") == "invalid_id_number")
        #expect(reason(name: "") == "invalid_name")
    }

    @Test func payeeFacts() {
        let line = BatchLine(line: 1, idNumber: Self.id, name: "王秀梅", amountFen: 100)
        func facts(found: Bool = true, name: String = "王秀梅", account: Bool = true, card: Bool = true, deceased: Bool = false, dup: Bool = false) -> PayeeFacts {
            PayeeFacts(personFound: found, name: name, hasFinancialAccount: account, hasLiveCard: card, deceased: deceased, duplicateInBatch: dup)
        }
        #expect(PayeeCheck.reason(line, facts: facts()) == nil)
        #expect(PayeeCheck.reason(line, facts: facts(found: false)) == "person_not_found")
        #expect(PayeeCheck.reason(line, facts: facts(name: "王秀")) == "name_mismatch")
        #expect(PayeeCheck.reason(line, facts: facts(card: false, deceased: true)) == "deceased")
        #expect(PayeeCheck.reason(line, facts: facts(account: false, card: false)) == "no_card")
        #expect(PayeeCheck.reason(line, facts: facts(account: false)) == "no_financial_account")
        #expect(PayeeCheck.reason(line, facts: facts(dup: true)) == "duplicate_line")
    }

    @Test func routingPaysTheCurrentAccountAndHoldsDuringMigration() {
        #expect(PaymentRouting.route(card: card(), bank: bank()) == .send(bankCode: "ICBC", account: "6210000000000001234", endpoint: "http://127.0.0.1:9"))
        #expect(PaymentRouting.route(card: nil, bank: nil) == .fail(reason: "no_card"))
        #expect(PaymentRouting.route(card: card(account: nil), bank: bank()) == .fail(reason: "no_financial_account"))
        #expect(PaymentRouting.route(card: card(), bank: bank(status: .terminated)) == .hold)
        // A suspended bank takes no new cards but keeps paying its existing ones (GD art. 20).
        #expect(PaymentRouting.route(card: card(), bank: bank(status: .suspended)) == .send(bankCode: "ICBC", account: "6210000000000001234", endpoint: "http://127.0.0.1:9"))
        #expect(PaymentRouting.route(card: card(), bank: bank(endpoint: nil)) == .fail(reason: "bank_not_connected"))
        #expect(PaymentRouting.route(card: card(), bank: bank("CCB")) == .fail(reason: "unknown_bank"))
    }

    @Test func retriesGetANewBankReference() {
        #expect(Payment.bankReference(id: "p1", attempt: 1) == "p1")
        #expect(Payment.bankReference(id: "p1", attempt: 2) == "p1-2")
    }

    @Test func totalsAddUp() {
        var t = BatchTotals()
        t.add(.paid, count: 3, fen: 300)
        t.add(.returned, count: 1, fen: 50)
        t.add(.pending, count: 2, fen: 20)
        t.add(.sent, count: 1, fen: 7)
        #expect(t.requestedCount == 7)
        #expect(t.requestedFen == 377)
        #expect(t.outstanding == 3)
    }

    @Test func programmeValidation() throws {
        let ok = Programme(id: "1", name: "耕地地力保护补贴", kind: .subsidy, department: "农业农村局", legalBasis: "GD art. 8",
                           fundingAccount: nil, createdBy: "department:a", createdAt: Date())
        try ok.validate()
        var bad = ok; bad.name = " "
        #expect(throws: DomainError.self) { try bad.validate() }
        bad = ok; bad.legalBasis = ""
        #expect(throws: DomainError.self) { try bad.validate() }
        bad = ok; bad.fundingAccount = "12ab"
        #expect(throws: DomainError.self) { try bad.validate() }
    }
}
