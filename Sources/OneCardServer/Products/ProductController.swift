import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Products and utility bills on the card (API.md "Entitlements and records": `/api/v1/billers`, `/api/v1/me/bills`,
/// `/api/v1/me/passes`).
struct ProductController {
    let products: ProductService

    func register(_ api: API) {
        api.add(.post, "/api/v1/billers",    roles: [.admin],  registerBiller)
        api.add(.get,  "/api/v1/billers",    roles: .anyone,   listBillers)
        api.add(.post, "/api/v1/me/bills",   roles: [.holder], payBill)
        api.add(.get,  "/api/v1/me/bills",   roles: [.holder], myBills)
        api.add(.get,  "/api/v1/products",   roles: .anyone,   listProducts)
        api.add(.post, "/api/v1/me/passes",  roles: [.holder], buyPass)
        api.add(.get,  "/api/v1/me/passes",  roles: [.holder], myPasses)
    }

    static let codePattern = "^[A-Za-z0-9_-]{2,40}$"

    struct BillerView: Encodable, Sendable {
        static let schema = Schema.named("Biller", .object([
            ("code", .text), ("name", .text), ("kind", .oneOf(Biller.Kind.self)),
            ("account", .object([("bankCode", .text), ("accountMasked", .text)], required: ["bankCode", "accountMasked"])), ("createdAt", .dateTime),
        ], required: ["code", "name", "kind", "account", "createdAt"]))
        struct Account: Encodable, Sendable { let bankCode: String; let accountMasked: String }
        let code: String, name: String, kind: String, account: Account, createdAt: String
        init(_ b: Biller) {
            code = b.code; name = b.name; kind = b.kind.rawValue; account = Account(bankCode: b.bankCode, accountMasked: Mask.account(b.accountNumber))
            createdAt = Timestamp.format(b.createdAt)
        }
    }

    struct BillerInput: Decodable {
        struct Account: Decodable { let bankCode: String; let accountNumber: String }
        let code: String; let name: String; let kind: String; let account: Account
    }

    var registerBiller: Handler {
        Handler("Register a biller (生活缴费: water, electricity, gas, heating, phone) and the account its bills are paid to",
                tag: "products",
                request: .object([("code", .string(pattern: Self.codePattern)), ("name", .line(100)), ("kind", .oneOf(Biller.Kind.self)),
                                  ("account", .object([("bankCode", .text(1, 20)), ("accountNumber", .string(pattern: "^[0-9]{10,30}$"))],
                                                      required: ["bankCode", "accountNumber"]))],
                                 required: ["code", "name", "kind", "account"]),
                success: (201, "The biller", BillerView.schema),
                errors: [.billerExists, .unknownBank]) { request, context in
            let i = try await request.decodeJSON(as: BillerInput.self, context: context)
            guard Biller.validCode(i.code) else { throw DomainError.invalidField("code", "2 to 40 letters, digits, '-' or '_'") }
            try TextRule.check(i.name, "name", max: 100, notBlank: true, oneLine: true)
            let kind: Biller.Kind = try parseEnum(i.kind, "kind")
            guard (1...20).contains(i.account.bankCode.unicodeScalars.count) else { throw DomainError.invalidField("account.bankCode", "1 to 20 characters") }
            guard BankSimulator.validAccount(i.account.accountNumber), i.account.accountNumber.allSatisfy(\.isDecimalASCII) else {
                throw DomainError.invalidField("account.accountNumber", "10 to 30 digits")
            }
            let b = try await products.registerBiller(.init(code: i.code, name: i.name.trimmingCharacters(in: .whitespaces), kind: kind,
                                                            bankCode: i.account.bankCode, accountNumber: i.account.accountNumber),
                                                      actor: context.identity!.actor)
            return JSONResponse(BillerView(b), status: .created)
        }
    }

    var listBillers: Handler {
        Handler("Registered billers a holder can pay from the card", tag: "products",
                success: (200, "Billers", .object([("billers", .array(BillerView.schema))], required: ["billers"]))) { _, _ in
            JSONResponse(["billers": try await products.billers().map(BillerView.init)])
        }
    }

    struct BillView: Encodable, Sendable {
        static let schema = Schema.named("BillPayment", .object([
            ("billPaymentId", .text), ("biller", .text), ("customerRef", .text), ("amountFen", .integer),
            ("status", .oneOf(BillPayment.Status.self)), ("at", .dateTime), ("settledAt", .nullable(.dateTime)),
        ], required: ["billPaymentId", "biller", "customerRef", "amountFen", "status", "at"]))
        let billPaymentId: String, biller: String, customerRef: String, amountFen: Int, status: String, at: String, settledAt: String?
        init(_ b: BillPayment) {
            billPaymentId = b.id; biller = b.biller; customerRef = b.customerRef; amountFen = b.amountFen; status = b.status.rawValue
            at = Timestamp.format(b.createdAt); settledAt = b.settledAt.map(Timestamp.format)
        }
    }

    struct BillInput: Decodable { let biller: String; let customerRef: String; let amountFen: Int }

    static let billRequest = Schema.object([("biller", .string(pattern: codePattern)), ("customerRef", .string(pattern: "^[A-Za-z0-9-]{1,40}$")),
                                            ("amountFen", .integerIn(minimum: 1, maximum: BillPayment.maxAmountFen))],
                                           required: ["biller", "customerRef", "amountFen"])

    /// The same checks as `billRequest`, for the API and the page.
    static func check(_ i: BillInput) throws(DomainError) -> ProductService.BillInput {
        guard Biller.validCode(i.biller) else { throw .invalidField("biller", "2 to 40 letters, digits, '-' or '_'") }
        guard (1...40).contains(i.customerRef.count), i.customerRef.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw .invalidField("customerRef", "the account number on the bill: 1 to 40 letters, digits or '-'")
        }
        guard (1...BillPayment.maxAmountFen).contains(i.amountFen) else { throw .invalidField("amountFen", "1 to \(BillPayment.maxAmountFen) fen") }
        return .init(biller: i.biller, customerRef: i.customerRef, amountFen: i.amountFen)
    }

    var payBill: Handler {
        Handler("Pay a utility bill from my card's account, once per Idempotency-Key (a repeat answers the first payment). Not enough "
                + "money: 409 insufficient_funds, nothing taken; a bank that does not answer: 503 bank_unavailable, repeat with the same key",
                tag: "products",
                request: Self.billRequest,
                success: (201, "The paid bill (its receipt)", BillView.schema),
                errors: [.idempotencyKeyRequired, .idempotencyKeyReused, .billerNotFound, .noCard, .insufficientFunds, .bankUnavailable],
                extraHeaders: [("Idempotency-Key", "one per bill; a repeat answers the first payment", true)]) { request, context in
            guard let key = request.headers[.idempotencyKey], (1...200).contains(key.count) else {
                throw DomainError(.idempotencyKeyRequired, "send an Idempotency-Key header (1 to 200 characters)")
            }
            let i = try Self.check(try await request.decodeJSON(as: BillInput.self, context: context))
            let identity = context.identity!
            let bill = try await products.payBill(personId: identity.personId!, i, idempotencyKey: key, actor: identity.actor)
            return JSONResponse(BillView(bill), status: .created)
        }
    }

    var myBills: Handler {
        Handler("My utility bills paid from the card, the latest first: each one's receipt", tag: "products",
                success: (200, "Bills", .object([("bills", .array(BillView.schema))], required: ["bills"]))) { _, context in
            JSONResponse(["bills": try await products.bills(personId: context.identity!.personId!).map(BillView.init)])
        }
    }

    struct ProductView: Encodable, Sendable {
        static let schema = Schema.named("Product", .object([
            ("code", .text), ("name", .text), ("nameEn", .text), ("priceFen", .integer), ("itemCodes", .array(.text)), ("entitlement", .text),
            ("basis", .text),
        ], required: ["code", "name", "nameEn", "priceFen", "itemCodes", "entitlement", "basis"]))
        let code: String, name: String, nameEn: String, priceFen: Int, itemCodes: [String], entitlement: String, basis: String
        init(_ p: Product) {
            code = p.code; name = p.name; nameEn = p.nameEn; priceFen = p.priceFen; itemCodes = p.itemCodes; entitlement = p.entitlement; basis = p.basis
        }
    }

    var listProducts: Handler {
        Handler("Products this region sells on the card (its policy pack), each valid for a calendar year", tag: "products",
                success: (200, "Products", .object([("products", .array(ProductView.schema))], required: ["products"]))) { _, _ in
            JSONResponse(["products": products.products.map(ProductView.init)])
        }
    }

    struct PassView: Encodable, Sendable {
        static let schema = Schema.named("Pass", .object([
            ("passId", .text), ("product", .text), ("year", .integer), ("validFrom", .date), ("validTo", .date), ("chargedFen", .integer),
            ("status", .oneOf(Pass.Status.self)), ("boughtAt", .dateTime),
        ], required: ["passId", "product", "year", "validFrom", "validTo", "chargedFen", "status", "boughtAt"]))
        let passId: String, product: String, year: Int, validFrom: String, validTo: String, chargedFen: Int, status: String, boughtAt: String
        init(_ p: Pass) {
            passId = p.id; product = p.product; year = p.year; validFrom = p.validFrom.description; validTo = p.validTo.description
            chargedFen = p.chargedFen; status = p.status.rawValue; boughtAt = Timestamp.format(p.boughtAt)
        }
    }

    struct PassInput: Decodable { let product: String; let year: Int }

    static let yearRange = 2000...2100

    var buyPass: Handler {
        Handler("Buy a product of this region (e.g. park_annual) for a year, paid from my card's account before the answer; it becomes "
                + "the entitlement pass:<product>. A second one for the same year: 409 pass_exists, nothing taken",
                tag: "products",
                request: .object([("product", .string(pattern: Self.codePattern)), ("year", .integerIn(minimum: Self.yearRange.lowerBound, maximum: Self.yearRange.upperBound))],
                                 required: ["product", "year"]),
                success: (201, "The pass", PassView.schema),
                errors: [.productNotFound, .passYearNotOffered, .passExists, .noCard, .insufficientFunds, .bankUnavailable]) { request, context in
            let i = try await request.decodeJSON(as: PassInput.self, context: context)
            guard Biller.validCode(i.product) else { throw DomainError.invalidField("product", "2 to 40 letters, digits, '-' or '_'") }
            guard Self.yearRange.contains(i.year) else { throw DomainError.invalidField("year", "\(Self.yearRange.lowerBound) to \(Self.yearRange.upperBound)") }
            let identity = context.identity!
            return JSONResponse(PassView(try await products.buyPass(personId: identity.personId!, product: i.product, year: i.year, actor: identity.actor)),
                                status: .created)
        }
    }

    var myPasses: Handler {
        Handler("My passes (products bought on the card), the latest year first", tag: "products",
                success: (200, "Passes", .object([("passes", .array(PassView.schema))], required: ["passes"]))) { _, context in
            JSONResponse(["passes": try await products.passes(personId: context.identity!.personId!).map(PassView.init)])
        }
    }
}

extension Character {
    /// 0 to 9 only (not other scripts' digits, which `isNumber` takes): account numbers and amounts.
    var isDecimalASCII: Bool { isASCII && isNumber }
}
