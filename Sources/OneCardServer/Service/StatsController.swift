import Foundation
import Hummingbird
import OneCardCore

/// Statistics for the supervisor and the administrator, and the printable oversight report (API.md "statistics").
struct StatsController {
    let stats: StatsService
    let clock: Clock
    /// Prints the report's HTML with headless Chromium.
    let printer: ReportPrinter
    /// The templates (the report's print layout is one of the pages' templates).
    let renderer: PageRenderer
    /// The jurisdiction the report is of.
    let policy: JurisdictionPolicy

    func register(_ api: API) {
        api.add(.get, "/api/v1/stats",            roles: [.auditor, .admin], figures)
        api.add(.get, "/api/v1/stats/report.pdf", roles: [.auditor, .admin], reportPDF)
    }

    static let day = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    static let query: [QueryParameter] = [
        .text("from", "first day (China Standard Time), YYYY-MM-DD; default the first of this month", pattern: day),
        .text("to", "last day, included; default today", pattern: day),
    ]

    /// The period asked for: `from`/`to` as days (a day that does not exist: `invalid_time_range`), this month by default.
    func period(_ request: Request) throws(DomainError) -> (CalendarDay, CalendarDay) {
        let q = request.uri.queryParameters
        let today = ChinaStandardTime.day(of: clock.now())
        func day(_ name: String, _ fallback: CalendarDay) throws(DomainError) -> CalendarDay {
            guard let raw = q.get(name) else { return fallback }
            guard let d = CalendarDay(raw) else { throw DomainError(.invalidTimeRange, "\(name): no such day") }
            return d
        }
        return (try day("from", CalendarDay(year: today.year, month: today.month, day: 1)!), try day("to", today))
    }

    var figures: Handler {
        Handler("Figures of a period (both days included, China Standard Time): cards, e-cards, uses, complaints, cases, payments, and a series by day or month",
                tag: "stats",
                query: Self.query + [.oneOf("by", "the series' period (default day)", StatisticsGrain.self)],
                success: (200, "Figures", Docs.report),
                errors: [.invalidTimeRange]) { request, _ in
            let (from, to) = try period(request)
            let by: StatisticsGrain = try request.uri.queryParameters.get("by").map { try parseEnum($0, "by") } ?? .day
            return JSONResponse(try await stats.report(from: from, to: to, by: by))
        }
    }

    var reportPDF: Handler {
        Handler("The oversight report of a period as PDF (ZJ art. 22), printed by headless Chromium: the period's figures with their labels, "
                + "bar charts and the series, in Chinese (lang=zh, the default) or English",
                tag: "stats",
                query: Self.query + [.oneOf("lang", "the report's language (default zh, else the Accept-Language header)", Lang.self)],
                success: (200, "PDF", nil), successContentType: "application/pdf",
                errors: [.invalidTimeRange, .reportRendererUnavailable]) { request, _ in
            let (from, to) = try period(request)
            let lang: Lang = try request.uri.queryParameters.get("lang").map { try parseEnum($0, "lang") }
                ?? (request.headers[.acceptLanguage] == nil ? .zh : Lang(acceptLanguage: request.headers[.acceptLanguage]))
            let report = try await stats.report(from: from, to: to, by: to.daysSinceEpoch - from.daysSinceEpoch > 62 ? .month : .day)
            var data = ServicePages.statsView(report, lang: lang)
            data["t"] = Messages.table(lang)
            data["lang"] = lang.tag
            data["from"] = from.description
            data["to"] = to.description
            data["generatedAt"] = PageTime.dateTime(clock.now())
            data["jurisdiction"] = lang == .zh ? policy.name : policy.nameEn
            let pdf = try await printer.pdf(html: renderer.library.render(data, withTemplate: "stats-print") ?? "")
            var headers = HTTPFields()
            headers[.contentType] = "application/pdf"
            headers[.contentDisposition] = "inline; filename=\"onecard-report-\(from)-\(to).pdf\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
        }
    }

    enum Docs {
        static let counts = Schema.anyObject
        static let report = Schema.named("Statistics", .object([
            ("from", .date), ("to", .date),
            ("cards", .object([("byStatus", counts)], required: ["byStatus"])),
            ("ecards", .object([("active", .integer)], required: ["active"])),
            ("uses", .object([("total", .integer), ("byDomain", counts), ("byRegion", counts), ("crossRegion", .integer)],
                             required: ["total", "byDomain", "byRegion", "crossRegion"])),
            ("complaints", .object([("total", .integer), ("byKind", counts), ("onTimeRate", .fraction), ("satisfiedRate", .fraction)],
                                   required: ["total", "byKind", "onTimeRate", "satisfiedRate"])),
            ("cases", .object([("total", .integer), ("fineFen", .integer)], required: ["total", "fineFen"])),
            ("payments", .object([("count", .integer), ("paidFen", .integer)], required: ["count", "paidFen"])),
            ("series", .array(.object([("period", .text), ("uses", .integer), ("complaints", .integer), ("payments", .integer)],
                                      required: ["period", "uses", "complaints", "payments"]))),
        ], required: ["from", "to", "cards", "ecards", "uses", "complaints", "cases", "payments", "series"]))
    }
}
