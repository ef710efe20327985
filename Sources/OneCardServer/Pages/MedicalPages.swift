import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Medical settlement pages: the holder's insurance, filings (and filing online) and settlements with the split in plain
/// words; the administrator's treatment-place catalogue, policies in force and the month's clearing. The same service
/// methods as `/api/v1/me/medical` and `/api/v1/medical/...`.
struct MedicalPages {
    let medical: MedicalService
    let claims: MedicalClaimService
    let region: String
    let clock: Clock
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/medical") { request, context in
            let me = try context.require([.holder], signIn: ResidentPages.signIn)
            let notice = request.uri.queryParameters.get("notice")
            return try await holderPage(me.personId!, notice: notice == "filed", claimed: notice == "claimed", context)
        }

        pages.post("/me/medical/filings") { _, context in
            let me = try context.require([.holder], signIn: ResidentPages.signIn)
            let f = context.form
            guard let from = CalendarDay(try f.required("from")) else { throw DomainError.invalidField("from", "a date YYYY-MM-DD") }
            var to: CalendarDay? = nil
            if let text = f["to"], !text.isEmpty {
                guard let d = CalendarDay(text) else { throw DomainError.invalidField("to", "a date YYYY-MM-DD") }
                to = d
            }
            _ = try await medical.file(MedicalFiling(kind: try parseEnum(try f.required("kind"), "kind"), treatmentRegion: try f.required("treatmentRegion"),
                                                     from: from, to: to), personId: me.personId!, channel: "online", by: me.actor)
            return Response.seeOther("/me/medical?notice=filed")
        }

        pages.post("/me/medical/claims") { _, context in
            let me = try context.require([.holder], signIn: ResidentPages.signIn)
            let f = context.form
            func day(_ name: String) throws(DomainError) -> CalendarDay {
                guard let d = CalendarDay(try f.required(name)) else { throw DomainError.invalidField(name, "a date YYYY-MM-DD") }
                return d
            }
            guard let level = Int(try f.required("hospitalLevel")).flatMap(HospitalLevel.init(rawValue:)) else {
                throw DomainError.invalidField("hospitalLevel", "1, 2 or 3")
            }
            _ = try await claims.lodge(personId: me.personId!, .init(
                treatmentRegion: try f.required("treatmentRegion"), hospitalLevel: level, care: try parseEnum(try f.required("care"), "care"),
                admittedOn: try day("admittedOn"), dischargedOn: try day("dischargedOn"), items: try Self.billLines(try f.required("items"))),
                                       actor: me.actor)
            return Response.seeOther("/me/medical?notice=claimed")
        }

        pages.get("/admin/medical") { request, context in
            _ = try context.require([.admin], signIn: AdminPages.signIn)
            return try await adminPage(month: request.uri.queryParameters.get("month"), context)
        }

        pages.post("/admin/medical/items") { _, context in
            let me = try context.require([.admin], signIn: AdminPages.signIn)
            let f = context.form
            func number(_ name: String) throws(DomainError) -> Int64? {
                guard let text = f[name], !text.isEmpty else { return nil }
                guard let n = Int64(text) else { throw DomainError.invalidField(name, "a whole number") }
                return n
            }
            let category: MedicalCategory = try parseEnum(try f.required("category"), "category")
            let share = try number("preselfpayPercent").map { Percent(Int($0)) }
            _ = try await medical.draft(MedicalCatalogueItem(code: try f.required("code"), name: try f.required("name"), category: category,
                                                             preselfpayPercent: category == .b ? share : nil, priceCapFen: try number("priceCapFen")),
                                        by: me.actor)
            return Response.seeOther("/admin/medical")
        }

        pages.post("/admin/medical/publish") { _, context in
            let me = try context.require([.admin], signIn: AdminPages.signIn)
            _ = try await medical.publish(by: me.actor)
            return Response.seeOther("/admin/medical")
        }
    }

    /// Yuan with the sign of a reversal's negated amounts.
    static func yuan(_ fen: Int64, _ context: PageContext) -> String { fen < 0 ? "-" + DepartmentPages.yuan(-fen, context) : DepartmentPages.yuan(fen, context) }

    /// The provinces a filing may name: those with policy presets, by name.
    static var provinces: [(code: String, name: String)] {
        Array(Set(MedicalPolicyBook.shipped.policies.map { RegionTable.province(of: $0.regionCode) })).sorted().map { ($0, PageRegion.name($0)) }
    }

    /// The split of one settlement in plain words.
    static func explanation(_ r: MedicalSettlementRecord, _ context: PageContext) -> String {
        let s = r.split
        var text = context.t(s.filing == .none ? "med_explain_none" : "med_explain")
        let values: [String: String] = [
            "medfee": yuan(s.medfeeSumamt, context), "fulamt": yuan(s.fulamtOwnpayAmt, context), "overlmt": yuan(s.overlmtSelfpay, context),
            "preselfpay": yuan(s.preselfpayAmt, context), "inscp": yuan(s.inscpScpAmt, context), "dedc": yuan(s.actPayDedc, context),
            "ratio": s.poolPropSelfpay.description, "hifp": yuan(s.hifpPay, context), "acct": yuan(s.acctPay, context), "cash": yuan(s.psnCashPay, context),
        ]
        for (k, v) in values { text = text.replacingOccurrences(of: "{\(k)}", with: v) }
        return text
    }

    /// The lines of a bill as a resident types them: one per line, the item's code and its amount in yuan
    /// (`MED-A, 120.50`), an optional quantity third.
    static func billLines(_ text: String) throws(DomainError) -> [MedicalBillLine] {
        var lines: [MedicalBillLine] = []
        for (i, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let parts = raw.split(whereSeparator: { $0 == "," || $0 == "，" || $0.isWhitespace }).map(String.init)
            guard parts.count == 2 || parts.count == 3, let fen = Self.fen(parts[1]),
                  let quantity = parts.count == 3 ? Int(parts[2]) : 1 else {
                throw DomainError.invalidField("items", "line \(i + 1): the item's code and its amount in yuan, e.g. MED-A, 120.50")
            }
            lines.append(MedicalBillLine(code: parts[0], amountFen: fen, quantity: quantity))
        }
        return lines
    }

    /// Yuan with at most two decimals, as fen.
    static func fen(_ yuan: String) -> Int64? {
        let parts = yuan.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = Int64(parts[0]), whole >= 0, whole < 100_000_000 else { return nil }
        guard parts.count == 2 else { return whole * 100 }
        guard (1...2).contains(parts[1].count), parts[1].allSatisfy(\.isNumber), let cents = Int64(parts[1]) else { return nil }
        return whole * 100 + (parts[1].count == 1 ? cents * 10 : cents)
    }

    func holderPage(_ personId: Person.ID, notice: Bool, claimed: Bool = false, _ context: PageContext) async throws -> Response {
        let o = try await medical.overview(personId: personId)
        var d: [String: Any] = ["hasInsured": o.insured != nil, "notice": notice, "claimed": claimed]
        let mine = try await claims.claims(personId: personId)
        d["claims"] = mine.map { c -> [String: Any] in
            ["id": c.id, "at": PageTime.dateTime(c.receivedAt), "region": PageRegion.name(c.treatmentRegion), "stay": "\(c.admittedOn) – \(c.dischargedOn)",
             "total": Self.yuan(c.split?.medfeeSumamt ?? c.items.reduce(0) { $0 + $1.amountFen }, context),
             "fund": c.split.map { Self.yuan($0.hifpPay, context) } ?? "—", "status": context.t("med_claim_\(c.status.rawValue)"),
             "due": PageTime.dateTime(c.dueAt)]
        }
        d["hasClaims"] = !mine.isEmpty
        if let i = o.insured {
            d["insured"] = ["scheme": context.t("med_scheme_\(i.scheme.rawValue)"), "region": "\(PageRegion.name(i.insuredRegion))（\(i.insuredRegion)）",
                            "retired": context.t(i.retired ? "med_retired" : "med_in_service"),
                            "balance": i.accountBalanceFen.map { Self.yuan($0, context) } ?? context.t("none")]
        }
        d["filings"] = o.filings.map { f -> [String: Any] in
            ["kind": context.t("med_filing_\(f.filing.kind.rawValue)"), "region": PageRegion.name(f.filing.treatmentRegion), "from": f.filing.from.description,
             "to": f.filing.lastDay?.description ?? context.t("med_open_ended"), "channel": context.t("med_channel_\(f.channel)")]
        }
        d["hasFilings"] = !o.filings.isEmpty
        d["settlements"] = o.settlements.map { s -> [String: Any] in
            let r = s.record
            return ["id": r.settlementId, "at": PageTime.dateTime(s.at), "region": PageRegion.name(r.treatmentRegion), "reversal": r.reverses != nil,
                    "filing": context.t("med_settled_\(r.split.filing.rawValue)"), "medfee": Self.yuan(r.split.medfeeSumamt, context),
                    "fund": Self.yuan(r.split.hifpPay, context), "acct": Self.yuan(r.split.acctPay, context), "cash": Self.yuan(r.split.psnCashPay, context),
                    "explain": Self.explanation(r, context)]
        }
        d["hasSettlements"] = !o.settlements.isEmpty
        d["kinds"] = FilingKind.allCases.map { ["value": $0.rawValue, "label": context.t("med_filing_\($0.rawValue)")] }
        d["provinces"] = Self.provinces.map { ["code": $0.code, "name": $0.name] }
        d["today"] = CalendarDay(clock.now()).description
        return renderer.page("me-medical", title: context.t("med_title"), d, context: context)
    }

    func adminPage(month: String?, _ context: PageContext) async throws -> Response {
        let catalogue = try await medical.catalogue()
        let drafts = try await medical.drafts()
        func itemView(_ i: MedicalCatalogueItem) -> [String: Any] {
            ["code": i.code, "name": i.name, "category": i.category.label,
             "share": i.preselfpayPercent?.description ?? "—", "cap": i.priceCapFen.map { Self.yuan($0, context) } ?? "—"]
        }
        let today = CalendarDay(clock.now())
        let policies = try await medical.policies(region: region)
        let selected = month ?? String(format: "%04d-%02d", today.year, today.month)
        var d: [String: Any] = [
            "version": catalogue.version?.version ?? 0, "items": catalogue.items.map(itemView), "hasItems": !catalogue.items.isEmpty,
            "drafts": drafts.map(itemView), "hasDrafts": !drafts.isEmpty,
            "categories": MedicalCategory.allCases.map { ["value": $0.rawValue, "label": $0.label] },
            "policies": policies.map { p -> [String: Any] in
                ["scheme": context.t("med_scheme_\(p.scheme.rawValue)"), "care": context.t("med_care_\(p.care.rawValue)"), "version": p.policyVersion,
                 "deductible": "\(Self.yuan(p.deductibleFirstFen, context)) / \(Self.yuan(p.deductibleLaterFen, context))",
                 "ratios": p.ratioPercentByLevel.values.map(\.description).joined(separator: " / "),
                 "cap": p.annualCapFen.map { Self.yuan($0, context) } ?? context.t("none"), "preset": p.source?.contains("preset") ?? false]
            },
            "region": PageRegion.name(region), "month": selected,
        ]
        if let clearing = try? await medical.clearing(month: selected) {
            d["pairs"] = clearing.pairs.map { p -> [String: Any] in
                ["insured": PageRegion.name(p.insuredRegion), "treatment": PageRegion.name(p.treatmentRegion), "count": p.settlements,
                 "fund": Self.yuan(p.fundFen, context)]
            }
            d["hasPairs"] = !clearing.pairs.isEmpty
            d["net"] = clearing.net.sorted { $0.key < $1.key }.map { ["region": PageRegion.name($0.key), "amount": Self.yuan($0.value, context)] }
        }
        // The statements other provinces sent for the month, each reconciled with this node's record (issue 14).
        if let list = try? await medical.reconciliations(month: selected) {
            d["reconciliations"] = list.map { r, at -> [String: Any] in
                ["region": PageRegion.name(r.counterpart), "matched": r.status == "matched", "at": PageTime.dateTime(at),
                 "ids": (r.onlyHere + r.onlyThere + r.differing).joined(separator: ", ")]
            }
            d["hasReconciliations"] = !list.isEmpty
        }
        return renderer.page("admin-medical", title: context.t("med_admin_title"), d, context: context)
    }
}
