import Foundation
import OneCardCore
import OneCardStore
import SQLKit

/// One synthetic holder of the load benchmarks: a person and their active card (transit and financial) at the bank `BENCH`.
public struct BenchHolder: Sendable {
    public var personId: String, idNumber: String, birthDate: String
    public var cardNumber: String, account: String
    /// When the card was issued (milliseconds); it expires ten years after the seeding.
    public var issuedAt: Int64

    public init(personId: String, idNumber: String, birthDate: String, cardNumber: String, account: String, issuedAt: Int64) {
        self.personId = personId; self.idNumber = idNumber; self.birthDate = birthDate
        self.cardNumber = cardNumber; self.account = account; self.issuedAt = issuedAt
    }
}

/// Seeds what `onecard bench-payments` and `bench-transit` start from, not timed: the bank `BENCH` at the bank-sim's URL and
/// `count` holders with cards, sealed and indexed as production stores them but 500 rows a statement and 5,000 a
/// transaction (`bench populate`, `PopulateService`, makes valid residents through the card rules; these benchmarks
/// need holders they can name by number).
public struct BenchHolderService: Sendable {
    let services: AppServices

    public init(_ services: AppServices) { self.services = services }

    public func seed(bankURL: String, count n: Int, holder: @Sendable (Int) -> BenchHolder) async throws {
        let store = services.store
        let cipher = FieldCipher(keys: services.keys)
        let now = Timestamp.millis(services.clock.now())
        try await store.write { s in
            try await s.banks.insert(Bank(code: "BENCH", name: "Bench bank", agreementFrom: CalendarDay(year: 2024, month: 1, day: 1)!,
                                          agreementTo: CalendarDay(year: 2034, month: 12, day: 31)!, endpoint: bankURL, status: .active), at: Date())
        }
        for start in stride(from: 0, to: n, by: 5000) {
            try await store.write { s in
                for part in stride(from: start, to: min(start + 5000, n), by: 500) {
                    var persons = s.db.insert(into: "persons").columns("id", "id_type", "id_index", "id_number_enc", "name_enc", "phone_enc",
                                                                       "birth_date", "sex", "region_code", "created_at")
                    var cards = s.db.insert(into: "cards").columns("card_number", "identification_code", "person_id", "issuer_region", "status",
                                                                   "transit", "financial", "bank_code", "account_enc", "account_masked",
                                                                   "issued_at", "expires_at")
                    for i in part..<min(part + 500, n) {
                        let h = holder(i)
                        persons = persons.values([SQLBind(h.personId), SQLBind("resident"), SQLBind(cipher.blindIndex(h.idNumber, field: "id_number")),
                                                  SQLBind(cipher.seal(h.idNumber, field: "id_number")), SQLBind(cipher.seal("王秀梅", field: "name")),
                                                  SQLBind(cipher.seal("13800001234", field: "phone")), SQLBind(h.birthDate), SQLBind("female"),
                                                  SQLBind("110101"), SQLBind(now)])
                        cards = cards.values([SQLBind(h.cardNumber), SQLBind("bench-\(i)"), SQLBind(h.personId), SQLBind("110000"), SQLBind("active"),
                                              SQLBind(Int64(1)), SQLBind(Int64(1)), SQLBind("BENCH"), SQLBind(cipher.seal(h.account, field: "account")),
                                              SQLBind(Mask.account(h.account)), SQLBind(h.issuedAt), SQLBind(now + 10 * 365 * 86_400_000)])
                    }
                    try await persons.run()
                    try await cards.run()
                }
            }
        }
    }
}
