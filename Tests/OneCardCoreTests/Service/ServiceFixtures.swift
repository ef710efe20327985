import Foundation
@testable import OneCardCore

/// Shared setup for the Service rule tests: the shipped calendar and schemes, CST instants and days by text.
enum ServiceFixtures {
    static let calendar = try! HolidayCalendar.shipped()
    static let workingDays = try! WorkingDays(calendar: calendar)
    static let credit = try! CreditPublicitySchemes.shipped()

    /// An instant written in China Standard Time, `2025-03-05T10:00`.
    static func cst(_ text: String) -> Date { Timestamp.parse(text + ":00+08:00")! }
    /// An instant in UTC, `2025-03-12T16:00:00Z`.
    static func utc(_ text: String) -> Date { Timestamp.parse(text)! }
    static func day(_ text: String) -> CalendarDay { CalendarDay(text)! }

    /// The code a throwing call refused with, or nil when it did not throw.
    static func code(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as DomainError { return e.code.rawValue } catch { return "\(error)" }
    }
}
