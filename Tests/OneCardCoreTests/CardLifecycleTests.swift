import Foundation
import Testing
@testable import OneCardCore

@Suite("Card and application state machines")
struct CardLifecycleTests {
    static let actions: [CardAction] = [.activate, .reportLoss(.temporary), .reportLoss(.formal), .unlock, .lapse, .replace(.lost), .cancel(.death)]

    /// Every legal move; everything else must be refused.
    static let legal: [CardStatus: [(CardAction, CardStatus)]] = [
        .issued: [(.activate, .active), (.replace(.lost), .replaced), (.cancel(.death), .cancelled)],
        .active: [(.reportLoss(.temporary), .temporarilyLost), (.reportLoss(.formal), .lost), (.replace(.lost), .replaced), (.cancel(.death), .cancelled)],
        .temporarilyLost: [(.reportLoss(.formal), .lost), (.unlock, .active), (.lapse, .active), (.replace(.lost), .replaced), (.cancel(.death), .cancelled)],
        .lost: [(.unlock, .active), (.replace(.lost), .replaced), (.cancel(.death), .cancelled)],
        .replaced: [],
        .cancelled: [],
    ]

    @Test(arguments: CardStatus.allCases)
    func everyMoveFromEveryStatus(_ status: CardStatus) throws {
        for action in Self.actions {
            if let expected = Self.legal[status]!.first(where: { $0.0 == action })?.1 {
                #expect(try CardLifecycle.next(from: status, action) == expected, "\(status) + \(action)")
            } else {
                #expect(throws: DomainError.invalidTransition("a card that is \(status.rawValue) cannot take \(action.eventType)"), "\(status) + \(action)") {
                    try CardLifecycle.next(from: status, action)
                }
            }
        }
    }

    @Test func onlyCancelledAndReplacedCardsAreNotLive() {
        #expect(CardStatus.allCases.filter { !$0.isLive } == [.replaced, .cancelled])
    }

    @Test func aTemporaryLossLapsesExactlyAtTheEndOfThePeriod() {
        let lostAt = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(!CardLifecycle.hasLapsed(lostAt: lostAt, lapseDays: 5, now: lostAt.addingTimeInterval(5 * 86_400 - 1)))
        #expect(CardLifecycle.hasLapsed(lostAt: lostAt, lapseDays: 5, now: lostAt.addingTimeInterval(5 * 86_400)))
        #expect(!CardLifecycle.hasLapsed(lostAt: lostAt, lapseDays: 15, now: lostAt.addingTimeInterval(14 * 86_400)))
    }

    @Test func applicationsMoveOneStepAtATime() throws {
        var s = ApplicationStatus.submitted
        for step in [ApplicationStep.approve, .produce, .ready, .collect] { s = try ApplicationLifecycle.next(from: s, step) }
        #expect(s == .collected)
        #expect(throws: DomainError.self) { try ApplicationLifecycle.next(from: .submitted, .produce) }
        #expect(throws: DomainError.self) { try ApplicationLifecycle.next(from: .approved, .collect) }
        #expect(throws: DomainError.self) { try ApplicationLifecycle.next(from: .collected, .reject) }
        #expect(try ApplicationLifecycle.next(from: .approved, .reject) == .rejected)
        #expect(!ApplicationStatus.collected.isOpen && !ApplicationStatus.rejected.isOpen && ApplicationStatus.ready.isOpen)
    }

    @Test func remoteMeansAnotherProvince() {
        #expect(ApplicationLifecycle.isRemote(householdRegion: "110105", outletRegion: "440300"))
        #expect(!ApplicationLifecycle.isRemote(householdRegion: "110105", outletRegion: "110108"))
    }

    @Test func deadlinesComeFromTheTimeLimit() {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(ApplicationLifecycle.dueAt(submittedAt: at, timeLimitDays: 15) == at.addingTimeInterval(15 * 86_400))
    }

    @Test func pinsAreSixDigits() {
        #expect(throws: Never.self) { try PIN("012345") }
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            #expect(throws: DomainError.self, "\(bad)") { try PIN(bad) }
        }
    }
}
