import Foundation
import OneCardCore
import OneCardStore
import OneCardTestSupport
import Testing
@testable import OneCardServer

/// Statistics that agree with hand-counted fixtures, and the oversight report's PDF carrying the same figures.
@Suite("Statistics over HTTP: figures of a period, the series, and the printable report")
struct StatsAPITests {
    @Test(arguments: Engine.available)
    func theFiguresAgreeWithWhatHappenedAndThePDFCarriesThem(_ engine: Engine) async throws {
        try await Harness.run(engine) { h in
            // setup, counted by hand: one Beijing card with an e-card; two uses at a Tianjin library (cross-region);
            // a consultation answered on time and rated satisfied, and a complaint not yet due; one case, no fine
            try await h.seedCatalogue()
            try await h.createBank()
            let (_, library) = try await h.createVenue(type: "library", region: "120101", items: ["JJJ-LIB-001"])
            let (holder, _, _) = try await h.holderWithECard()
            for _ in 0..<2 {
                let r = try await h.accept(key: library, item: "JJJ-LIB-001", credential: ["kind": "qr", "token": try await h.qrToken(holder)])
                #expect(r.string("decision") == "accepted", "\(r)")
            }
            let c1 = try #require(try await h.call(.post, "/api/v1/complaints", token: h.agent, json: [
                "kind": "consultation", "topic": "card", "channel": "12333", "summary": "如何补卡"]).string("complaintId"))
            _ = try await h.call(.post, "/api/v1/complaints/\(c1)/answer", token: h.agent, json: ["text": "到任一网点"])
            _ = try await h.call(.post, "/api/v1/complaints/\(c1)/rate", token: h.agent, json: ["satisfied": true])
            _ = try await h.call(.post, "/api/v1/complaints", token: h.agent, json: ["kind": "complaint", "topic": "other", "channel": "12345", "summary": "排队"])
            _ = try await h.services.createStaffUser(username: "supervisor", password: "auditor-password", role: .auditor)
            let auditor = try await h.services.accounts.staffToken(username: "supervisor", password: "auditor-password").accessToken
            _ = try await h.call(.post, "/api/v1/cases", token: auditor, json: ["type": "venue_refusal", "party": ["uscc": CatalogueAndAcceptanceAPITests.uscc(), "name": "某馆"], "summary": "拒卡"])

            // action
            let r = try await h.call(.get, "/api/v1/stats?from=2026-11-18&to=2026-11-18&by=day", token: auditor)

            // validate
            #expect(r.status == 200, "\(r)")
            #expect((r["cards"] as? [String: Any])?["byStatus"] as? [String: Int] == ["active": 1], "\(r)")
            #expect((r["ecards"] as? [String: Any])?["active"] as? Int == 1)
            let uses = try #require(r["uses"] as? [String: Any])
            #expect(uses["total"] as? Int == 2 && uses["crossRegion"] as? Int == 2, "\(uses)")
            #expect(uses["byDomain"] as? [String: Int] == ["culture": 2] && uses["byRegion"] as? [String: Int] == ["120000": 2], "\(uses)")
            let complaints = try #require(r["complaints"] as? [String: Any])
            #expect(complaints["total"] as? Int == 2 && complaints["byKind"] as? [String: Int] == ["consultation": 1, "complaint": 1], "\(complaints)")
            #expect(complaints["onTimeRate"] as? Double == 1 && complaints["satisfiedRate"] as? Double == 1, "\(complaints)")
            #expect((r["cases"] as? [String: Any])?["total"] as? Int == 1 && (r["cases"] as? [String: Any])?["fineFen"] as? Int == 0)
            #expect((r["payments"] as? [String: Any])?["count"] as? Int == 0)
            let series = try #require(r["series"] as? [[String: Any]])
            #expect(series.count == 1 && series[0]["period"] as? String == "2026-11-18" && series[0]["uses"] as? Int == 2 && series[0]["complaints"] as? Int == 2)
            // by month over two months; a later day has none of it
            let months = try await h.call(.get, "/api/v1/stats?from=2026-11-01&to=2026-12-31&by=month", token: h.admin)
            #expect((months["series"] as? [[String: Any]])?.compactMap { $0["period"] as? String } == ["2026-11", "2026-12"], "\(months)")
            #expect(((try await h.call(.get, "/api/v1/stats?from=2026-11-19&to=2026-11-30", token: auditor))["uses"] as? [String: Any])?["total"] as? Int == 0)
            // refusals
            #expect(try await h.call(.get, "/api/v1/stats?from=2026-13-45&to=2026-11-30", token: auditor).code == "invalid_time_range")
            #expect(try await h.call(.get, "/api/v1/stats?from=2026-11-30&to=2026-11-01", token: auditor).code == "invalid_time_range")
            #expect(try await h.call(.get, "/api/v1/stats?by=week", token: auditor).code == "invalid_value")
            #expect(try await h.call(.get, "/api/v1/stats", token: h.agent).status == 403)

            // The report is printed by headless Chromium and read back by poppler's pdftotext: every figure on a line with its
            // label, in English and in Chinese (set in the system's CJK font), the charts' titles with each bar's label and figure.
            let pdf = try await h.call(.get, "/api/v1/stats/report.pdf?from=2026-11-18&to=2026-11-18&lang=en", token: auditor)
            #expect(pdf.status == 200 && pdf.contentType == "application/pdf" && pdf.body.starts(with: Data("%PDF-".utf8)), "\(pdf)")
            let text = try await Self.pdftotext(pdf.body)
            for (label, value) in [("Uses", "2"), ("Cross-region uses", "2"), ("Complaints", "2"), ("On-time rate", "100.0%"),
                                   ("Satisfied rate", "100.0%"), ("Cases opened", "1"), ("Cards issued", "1"), ("Fines (yuan)", "0.00")] {
                #expect(Self.hasRow(text, label, value), "\(label) \(value) not in: \(text)")
            }
            #expect(text.contains("2026-11-18 – 2026-11-18") && text.contains("special work report"), "\(text)")
            for title in ["Uses by domain", "Uses by period", "Uses by province"] { #expect(text.contains(title), "\(title) not in: \(text)") }
            #expect(Self.hasRow(text, "culture", "2") && Self.hasRow(text, "120000", "2"), "a bar per domain and per province: \(text)")
            let zh = try await Self.pdftotext(try await h.call(.get, "/api/v1/stats/report.pdf?from=2026-11-18&to=2026-11-18", token: auditor).body)
            #expect(zh.contains("社会保障卡居民服务一卡通工作专项报告") && Self.hasRow(zh, "用卡总次数", "2") && Self.hasRow(zh, "按期办结率", "100.0%"), "\(zh)")
            #expect(try await h.call(.get, "/api/v1/stats/report.pdf?lang=fr", token: auditor).code == "invalid_value")
            #expect(try await h.call(.get, "/api/v1/stats/report.pdf", token: h.agent).status == 403)
        }
    }

    /// Whether a line of the extracted text is exactly `label` then `value` (a table row, or a chart's bar).
    static func hasRow(_ text: String, _ label: String, _ value: String) -> Bool {
        text.split(separator: "\n").contains { line in
            let words = line.trimmingCharacters(in: .whitespaces)
            guard words.hasPrefix(label), words.hasSuffix(value) else { return false }
            return words.dropFirst(label.count).dropLast(value.count).allSatisfy(\.isWhitespace) && words.count > label.count + value.count
        }
    }

    /// The text of a PDF as poppler's `pdftotext` reads it (a real renderer's parser, not ours).
    static func pdftotext(_ pdf: Data) async throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString).pdf")
        try pdf.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (status, data, complaints) = try await ChildProcess.collect(URL(fileURLWithPath: "/usr/bin/env"), ["pdftotext", "-layout", file.path, "-"],
                                                                        separateErrors: true)
        #expect(status == 0 && complaints.isEmpty, "pdftotext: \(String(decoding: complaints, as: UTF8.self))")
        return String(decoding: data, as: UTF8.self)
    }
}
