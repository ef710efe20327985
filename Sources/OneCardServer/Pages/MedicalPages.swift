import Foundation
import Hummingbird
import OneCardCore
import OneCardStore

/// Medical settlement pages: the holder's insurance, filings (and filing online) and settlements with the split in plain
/// words; the administrator's treatment-place catalogue, policies in force and the month's clearing. The same service
/// methods as `/api/v1/me/medical` and `/api/v1/medical/...`.
struct MedicalPages {
    let medical: MedicalService
    let region: String
    let clock: Clock
    let renderer: PageRenderer

    func register(_ pages: RouterGroup<PageContext>) {
        pages.get("/me/medical") { request, context in
            let me = try context.require([.holder], signIn: ResidentPages.signIn)
            return try await holderPage(me.personId!, notice: request.uri.queryParameters.get("notice") == "filed", context)
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

    func holderPage(_ personId: Person.ID, notice: Bool, _ context: PageContext) async throws -> Response {
        let o = try await medical.overview(personId: personId)
        var d: [String: Any] = ["hasInsured": o.insured != nil, "notice": notice]
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
