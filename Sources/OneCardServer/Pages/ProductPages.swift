import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Products and bills on the card: the holder pays utility bills and sees their receipts (`/me/bills`), buys passes
/// (`/me/passes`); an administrator registers billers (`/admin/billers`).
struct ProductPages {
    let products: ProductService
    let random: RandomSource
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/bills") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let billers = try await products.billers()
            let names = Dictionary(billers.map { ($0.code, $0.name) }, uniquingKeysWith: { a, _ in a })
            let bills = try await products.bills(personId: me.personId!)
            return renderer.page("me-bills", title: context.t("bill_title"), [
                "bills": bills.map { b -> [String: Any] in
                    ["id": b.id, "biller": names[b.biller] ?? b.biller, "customerRef": b.customerRef,
                     "amount": DepartmentPages.yuan(Int64(b.amountFen), context), "status": context.t("bill_status_\(b.status.rawValue)"),
                     "at": PageTime.dateTime(b.createdAt)]
                },
                "hasBills": !bills.isEmpty,
                "billers": billers.map { ["code": $0.code, "name": $0.name, "kind": context.t("biller_kind_\($0.kind.rawValue)")] },
                "hasBillers": !billers.isEmpty,
                "idempotencyKey": random.uuid(),
            ], context: context)
        }
        pages.post("/me/bills") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let form = context.form
            let key = try form.required("idempotencyKey")
            guard (1...200).contains(key.count) else { throw DomainError(.idempotencyKeyRequired, "an Idempotency-Key of 1 to 200 characters") }
            // Yuan with up to two decimals, as printed on the bill.
            guard let fen = Self.fen(yuan: try form.required("amountYuan").trimmingCharacters(in: .whitespaces)) else {
                throw DomainError.invalidField("amountYuan", "an amount in yuan, e.g. 86.50")
            }
            let input = try ProductController.check(.init(biller: try form.required("biller"),
                                                          customerRef: try form.required("customerRef").trimmingCharacters(in: .whitespaces),
                                                          amountFen: fen))
            _ = try await products.payBill(personId: me.personId!, input, idempotencyKey: key, actor: me.actor)
            return Response.seeOther("/me/bills")
        }

        pages.get("/me/passes") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let passes = try await products.passes(personId: me.personId!)
            let names = Dictionary(products.products.map { ($0.code, context.lang == .en ? $0.nameEn : $0.name) }, uniquingKeysWith: { a, _ in a })
            let year = CalendarDay(products.clock.now()).year
            return renderer.page("me-passes", title: context.t("pass_title"), [
                "passes": passes.map { p -> [String: Any] in
                    ["id": p.id, "product": names[p.product] ?? p.product, "year": p.year, "validFrom": p.validFrom.description,
                     "validTo": p.validTo.description, "charged": DepartmentPages.yuan(Int64(p.chargedFen), context),
                     "status": context.t("pass_status_\(p.status.rawValue)")]
                },
                "hasPasses": !passes.isEmpty,
                "products": products.products.map { p -> [String: Any] in
                    ["code": p.code, "name": names[p.code] ?? p.code, "price": DepartmentPages.yuan(Int64(p.priceFen), context), "basis": p.basis]
                },
                "hasProducts": !products.products.isEmpty,
                "years": [year, year + 1],
            ], context: context)
        }
        pages.post("/me/passes") { _, context in
            let me = try context.require([.holder], signIn: ConsentPages.signIn)
            let product = try context.form.required("product")
            guard let year = Int(try context.form.required("year")), ProductController.yearRange.contains(year) else {
                throw DomainError.invalidField("year", "a year")
            }
            guard Biller.validCode(product) else { throw DomainError.invalidField("product", "a product of this region") }
            _ = try await products.buyPass(personId: me.personId!, product: product, year: year, actor: me.actor)
            return Response.seeOther("/me/passes")
        }

        pages.get("/admin/billers") { _, context in
            let me = try context.require([.admin, .auditor], signIn: AdminPages.signIn)
            let billers = try await products.billers()
            return renderer.page("admin-billers", title: context.t("biller_title"), [
                "billers": billers.map { b -> [String: Any] in
                    ["code": b.code, "name": b.name, "kind": context.t("biller_kind_\(b.kind.rawValue)"), "bank": b.bankCode,
                     "account": Mask.account(b.accountNumber), "createdAt": PageTime.dateTime(b.createdAt)]
                },
                "hasBillers": !billers.isEmpty,
                "kinds": Biller.Kind.allCases.map { ["value": $0.rawValue, "label": context.t("biller_kind_\($0.rawValue)")] },
                "canChange": me.role == .admin,
            ], context: context)
        }
        pages.post("/admin/billers") { _, context in
            let me = try context.require([.admin], signIn: AdminPages.signIn)
            let form = context.form
            let code = try form.required("code").trimmingCharacters(in: .whitespaces)
            let name = try form.required("name").trimmingCharacters(in: .whitespaces)
            let bankCode = try form.required("bankCode").trimmingCharacters(in: .whitespaces)
            let account = try form.required("accountNumber").filter { !$0.isWhitespace }
            guard Biller.validCode(code) else { throw DomainError.invalidField("code", "2 to 40 letters, digits, '-' or '_'") }
            try TextRule.check(name, "name", max: 100, notBlank: true, oneLine: true)
            let kind: Biller.Kind = try parseEnum(try form.required("kind"), "kind")
            guard BankSimulator.validAccount(account), account.allSatisfy(\.isDecimalASCII) else { throw DomainError.invalidField("accountNumber", "10 to 30 digits") }
            _ = try await products.registerBiller(.init(code: code, name: name, kind: kind, bankCode: bankCode, accountNumber: account), actor: me.actor)
            return Response.seeOther("/admin/billers")
        }
    }

    /// An amount in yuan as printed on a bill ("86", "86.5", "86.50") in fen; nil for anything else.
    static func fen(yuan text: String) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, (1...7).contains(whole.count), whole.allSatisfy(\.isDecimalASCII),
              let w = Int(whole) else { return nil }
        var cents = 0
        if parts.count == 2 {
            let f = parts[1]
            guard (1...2).contains(f.count), f.allSatisfy(\.isDecimalASCII), let c = Int(f) else { return nil }
            cents = f.count == 1 ? c * 10 : c
        }
        return w * 100 + cents
    }
}
