import Foundation
import OneCardCore
import OneCardTestSupport
import Testing
@testable import OneCardServer

@Suite("Words: every code, notice and page message in both languages")
struct PageMessagesTests {
    @Test func everyDisbursementCodeHasWordsInBothLanguages() {
        let keys = ProgrammeKind.allCases.map { "pk_\($0.rawValue)" } + BatchStatus.allCases.map { "bs_\($0.rawValue)" }
            + PaymentState.allCases.map { "ps_\($0.rawValue)" }
            + ["malformed_line", "invalid_amount", "amount_too_large", "invalid_name", "invalid_id_number", "person_not_found", "name_mismatch",
               "deceased", "no_card", "no_financial_account", "duplicate_line"].map { "line_\($0)" }
            + ["no_card", "no_financial_account", "unknown_bank", "bank_not_connected", "account_closed", "bank_rejected"].map { "payfail_\($0)" }
            + ["account_changed", "payment_failed", "payment_returned", "bank_migrated", "bank_terminated"].flatMap { ["notice_\($0)", "notice_\($0)_text"] }
            + ["four_eyes_required", "batch_not_approved", "batch_not_executed", "batch_not_found", "programme_not_found", "upload_in_progress",
               "invalid_csv_header", "empty_batch"].map { "err_\($0)" }
        let missing = keys.filter { Messages.zh[$0] == nil || Messages.en[$0] == nil }
        #expect(missing.isEmpty, "\(missing)")
    }

    @Test func aNoticeIsPutIntoWordsInTheReadersLanguageWithItsParameters() {
        // setup: a failed payment and a terminated bank, as the executor and the bank service store them
        let failed = ["programme": "耕地地力保护补贴", "amountFen": "30001", "reason": "account_closed"]
        let terminated = ["bankName": "工商银行", "bankCode": "ICBC", "chooseBy": "2026-03-01T04:00:00Z", "successorName": "建设银行", "successorCode": "CCB"]
        // validate: every parameter in its place, the reason and the date in words
        #expect(Messages.notice(.paymentFailed, failed, .zh) == "「耕地地力保护补贴」300.01元未能发放（\(Messages.zh["payfail_account_closed"]!)），待原因排除后重新发放。")
        #expect(Messages.notice(.paymentFailed, failed, .en)
            == "300.01 yuan of “耕地地力保护补贴” could not be paid (\(Messages.en["payfail_account_closed"]!)); it will be paid once the cause is removed.")
        let zh = Messages.notice(.bankTerminated, terminated, .zh), en = Messages.notice(.bankTerminated, terminated, .en)
        #expect(zh.hasPrefix("您的社保卡合作银行工商银行（ICBC）已终止合作。请在2026-03-01 12:00前") && zh.contains("建设银行（CCB）"), "\(zh)")
        #expect(en.hasPrefix("Your card's bank 工商银行 (ICBC) has ended") && en.contains("before 2026-03-01 12:00") && en.contains("建设银行 (CCB)"), "\(en)")
        #expect(!zh.contains("{") && !en.contains("{"))
        // A notice stored as text before notices had parameters is shown as it was written.
        #expect(Messages.notice(.paymentReturned, ["text": "旧的通知"], .en) == "旧的通知")
        // The API's language: Chinese unless Accept-Language prefers English.
        #expect([nil, "zh-CN,en;q=0.8", "en;q=0.3, zh;q=0.7", "fr", "*"].map { Lang(acceptLanguage: $0) } == [.zh, .zh, .zh, .zh, .zh])
        #expect(["en-GB,en;q=0.9", "fr, en;q=0.5", "en, zh"].map { Lang(acceptLanguage: $0) } == [.en, .en, .en])
    }

    @Test func everyMessageATemplateOrPageNamesExists() throws {
        // setup: the page sources next to this test's package
        let pages = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Sources/OneCardServer/Pages").standardized
        let templates = try FileManager.default.contentsOfDirectory(at: pages.appendingPathComponent("Templates"), includingPropertiesForKeys: nil)
        let swift = try FileManager.default.contentsOfDirectory(at: pages, includingPropertiesForKeys: nil).filter { $0.pathExtension == "swift" }
        #expect(templates.count > 30 && swift.count > 5)
        var missing: [String] = []
        var checked = 0
        for (files, pattern) in [(templates, #"\{\{t\.([a-z0-9_]+)\}\}"#), (swift, #"context\.t\("([a-z0-9_]+)"\)"#)] {
            let regex = try NSRegularExpression(pattern: pattern)
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                for m in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    let key = String(text[Range(m.range(at: 1), in: text)!])
                    checked += 1
                    // validate: in both languages
                    if Messages.zh[key] == nil || Messages.en[key] == nil { missing.append("\(file.lastPathComponent): \(key)") }
                }
            }
        }
        #expect(checked > 300 && missing.isEmpty, "\(checked) checked; missing: \(missing)")
    }
}
