import Foundation
import OneCardCore

/// A small PDF 1.4 writer: A4 pages of text in the standard Helvetica font (no embedding, so ASCII text only) and
/// filled rectangles for bar charts. Enough for a printable report that any viewer opens and `pdftotext` reads.
struct PDFWriter {
    static let width = 595.0, height = 842.0, margin = 50.0
    private(set) var pages: [String] = []
    private var ops = ""
    /// The baseline of the next line, from the bottom of the page.
    private(set) var y = height - margin

    /// A line of text; moves down, starting a new page when the current one is full.
    mutating func line(_ text: String, size: Double = 11, bold: Bool = false, indent: Double = 0) {
        room(size * 1.5)
        ops += "BT /\(bold ? "F2" : "F1") \(Self.n(size)) Tf \(Self.n(Self.margin + indent)) \(Self.n(y)) Td (\(Self.escape(text))) Tj ET\n"
        y -= size * 1.5
    }

    mutating func gap(_ points: Double = 8) { y -= points }

    /// A bar chart of labelled values with a text value beside each bar (the table is the text itself).
    mutating func bars(_ values: [(String, Int64)], title: String) {
        line(title, size: 12, bold: true)
        let maxValue = max(values.map(\.1).max() ?? 0, 1)
        let barArea = 300.0
        for (label, value) in values {
            room(16)
            let w = max(Double(value) / Double(maxValue) * barArea, value > 0 ? 1 : 0)
            ops += "BT /F1 9 Tf \(Self.n(Self.margin)) \(Self.n(y)) Td (\(Self.escape(label))) Tj ET\n"
            ops += "0.25 0.45 0.7 rg \(Self.n(Self.margin + 110)) \(Self.n(y - 1)) \(Self.n(w)) 9 re f 0 g\n"
            ops += "BT /F1 9 Tf \(Self.n(Self.margin + 115 + w)) \(Self.n(y)) Td (\(value)) Tj ET\n"
            y -= 14
        }
        gap()
    }

    private mutating func room(_ needed: Double) {
        if y - needed < Self.margin { newPage() }
    }

    mutating func newPage() {
        pages.append(ops)
        ops = ""
        y = Self.height - Self.margin
    }

    /// The document's bytes.
    func data() -> Data {
        let contents = pages + (ops.isEmpty && !pages.isEmpty ? [] : [ops])
        // Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, then a page and its content stream per page.
        var objects: [String] = []
        let kids = contents.indices.map { "\(5 + 2 * $0) 0 R" }.joined(separator: " ")
        objects.append("<< /Type /Catalog /Pages 2 0 R >>")
        objects.append("<< /Type /Pages /Kids [\(kids)] /Count \(contents.count) >>")
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
        objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
        for (i, stream) in contents.enumerated() {
            objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 \(Int(Self.width)) \(Int(Self.height))] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents \(6 + 2 * i) 0 R >>")
            objects.append("<< /Length \(stream.utf8.count) >>\nstream\n\(stream)endstream")
        }
        var out = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (i, o) in objects.enumerated() {
            offsets.append(out.utf8.count)
            out += "\(i + 1) 0 obj\n\(o)\nendobj\n"
        }
        let xref = out.utf8.count
        out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for o in offsets { out += String(format: "%010ld 00000 n \n", o) }
        out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Data(out.utf8)
    }

    /// A PDF string literal's body: ASCII only (the standard fonts have no Chinese glyphs), with \, ( and ) escaped.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\\", "(", ")": out += "\\\(Character(u))"
            case " "..."~": out.unicodeScalars.append(u)
            default: out += "?"
            }
        }
        return out
    }

    static func n(_ v: Double) -> String { String(format: "%.2f", v) }
}

/// The oversight report of a period as a PDF: the same figures as `GET /api/v1/stats`, each with its label, and
/// bar charts of the series and of uses by domain.
enum StatisticsReportPDF {
    static func render(_ r: StatisticsReport, generatedAt: String) -> Data {
        var pdf = PDFWriter()
        func yuan(_ fen: Int64) -> String { String(format: "%.2f", Double(fen) / 100) }
        func pct(_ rate: Double) -> String { String(format: "%.1f%%", rate * 100) }
        func sorted(_ d: [String: Int64]) -> [(String, Int64)] { d.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
        pdf.line("OneCard oversight report", size: 18, bold: true)
        pdf.line("Social security card one-card service: special work report (Zhejiang art. 22)", size: 10)
        pdf.line("Period: \(r.from) to \(r.to) (China Standard Time, both days included)", size: 10)
        pdf.line("Generated: \(generatedAt)", size: 10)
        pdf.gap(12)
        pdf.line("Cards", size: 13, bold: true)
        pdf.line("Cards issued in the period: \(r.cards.byStatus.values.reduce(0, +))", indent: 10)
        for (k, v) in sorted(r.cards.byStatus) { pdf.line("Cards \(k): \(v)", indent: 20) }
        pdf.line("E-cards active (opened in the period): \(r.ecards.active)", indent: 10)
        pdf.gap()
        pdf.line("Uses", size: 13, bold: true)
        pdf.line("Uses total: \(r.uses.total)", indent: 10)
        pdf.line("Cross-region uses: \(r.uses.crossRegion)", indent: 10)
        for (k, v) in sorted(r.uses.byRegion) { pdf.line("Uses in region \(k): \(v)", indent: 20) }
        pdf.bars(sorted(r.uses.byDomain), title: "Uses by domain")
        pdf.line("Complaints", size: 13, bold: true)
        pdf.line("Complaints total: \(r.complaints.total)", indent: 10)
        for (k, v) in sorted(r.complaints.byKind) { pdf.line("Complaints \(k): \(v)", indent: 20) }
        pdf.line("On-time rate: \(pct(r.complaints.onTimeRate))", indent: 10)
        pdf.line("Satisfied rate: \(pct(r.complaints.satisfiedRate))", indent: 10)
        pdf.gap()
        pdf.line("Enforcement", size: 13, bold: true)
        pdf.line("Cases opened: \(r.cases.total)", indent: 10)
        pdf.line("Fines decided (yuan): \(yuan(r.cases.fineFen))", indent: 10)
        pdf.gap()
        pdf.line("Benefit payments", size: 13, bold: true)
        pdf.line("Payments paid: \(r.payments.count)", indent: 10)
        pdf.line("Amount paid (yuan): \(yuan(r.payments.paidFen))", indent: 10)
        pdf.gap()
        pdf.bars(r.series.map { ($0.period, $0.uses) }, title: "Uses by period")
        pdf.line("Series (period: uses / complaints / payments)", size: 12, bold: true)
        for p in r.series { pdf.line("\(p.period): \(p.uses) / \(p.complaints) / \(p.payments)", size: 9, indent: 10) }
        return pdf.data()
    }
}
