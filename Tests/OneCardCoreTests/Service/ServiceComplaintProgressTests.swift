import Foundation
import Testing
@testable import OneCardCore

@Suite("Service: a complaint's steps, and the reopen-once rule")
struct ServiceComplaintProgressTests {
    /// Applies steps in order and collects every event written.
    func run(_ steps: [ComplaintStep], from start: ComplaintProgress = ComplaintProgress.lodged.progress) throws -> (ComplaintProgress, [ComplaintEventType]) {
        var p = start, events = ComplaintProgress.lodged.events
        for s in steps {
            let next = try p.applying(s)
            p = next.progress; events += next.events
        }
        return (p, events)
    }

    @Test func satisfiedRatingCloses() throws {
        // action
        let (p, events) = try run([.assign(to: "dept.museum"), .answer, .rate(satisfied: true)])
        // validate
        #expect(p.status == .closed)
        #expect(p.assignee == "dept.museum")
        #expect(events == [.lodged, .assigned, .answered, .rated, .closed])
    }

    /// API.md: unsatisfied → reopened (once; back to the same assignee, answered again without reassignment;
    /// a second unsatisfied rating closes it).
    @Test func dissatisfiedRatingReopensOnceThenCloses() throws {
        // setup
        let (answered, _) = try run([.assign(to: "dept.museum"), .answer])
        // action: the first dissatisfied rating
        let first = try answered.applying(.rate(satisfied: false))
        // validate
        #expect(first.progress.status == .reopened)
        #expect(first.progress.assignee == "dept.museum")
        #expect(first.progress.reopenings == 1)
        #expect(first.events == [.rated, .reopened])
        // the same assignee answers again; a second dissatisfied rating closes it, it is not reopened twice
        let again = try first.progress.applying(.answer)
        #expect(again.progress.status == .answered)
        let second = try again.progress.applying(.rate(satisfied: false))
        #expect(second.progress.status == .closed)
        #expect(second.events == [.rated, .closed])
        #expect(second.progress.reopenings == 1)
        // and a satisfied rating after the reopening closes it too
        #expect(try again.progress.applying(.rate(satisfied: true)).progress.status == .closed)
    }

    @Test func illegalStepsAreRefusedWithInvalidTransition() throws {
        let open = ComplaintProgress()
        let assigned = ComplaintProgress(status: .assigned, assignee: "a")
        let answered = ComplaintProgress(status: .answered, assignee: "a")
        let reopened = ComplaintProgress(status: .reopened, assignee: "a", reopenings: 1)
        let closed = ComplaintProgress(status: .closed, assignee: "a", reopenings: 1)
        let forwarded = ComplaintProgress(status: .forwarded)
        let refused: [(ComplaintProgress, ComplaintStep)] = [
            (open, .rate(satisfied: true)), (assigned, .rate(satisfied: false)), (reopened, .rate(satisfied: true)),
            (answered, .answer), (answered, .assign(to: "b")), (reopened, .assign(to: "b")), (answered, .forward),
            (reopened, .forward), (open, .returnFromForward), (forwarded, .assign(to: "b")), (forwarded, .rate(satisfied: true)),
            (closed, .answer), (closed, .assign(to: "b")), (closed, .rate(satisfied: false)), (closed, .forward),
        ]
        for (p, step) in refused {
            #expect(ServiceFixtures.code { _ = try p.applying(step) } == "invalid_transition", "\(p.status) then \(step)")
        }
        #expect(ServiceFixtures.code { _ = try open.applying(.assign(to: "")) } == "invalid_field")
    }

    @Test func anAgentMayAnswerAtOnceAndReassignBeforeTheAnswer() throws {
        #expect(try ComplaintProgress().applying(.answer).progress.status == .answered)
        let (p, events) = try run([.assign(to: "a"), .assign(to: "b")])
        #expect(p.assignee == "b")
        #expect(events == [.lodged, .assigned, .assigned])
    }

    /// JJJ art. 23: a cross-province complaint goes to the province concerned; its answer comes back and is rated here.
    @Test func forwardedComplaintIsAnsweredThereAndRatedHere() throws {
        let (p, events) = try run([.forward, .answer, .rate(satisfied: false), .answer, .rate(satisfied: true)])
        #expect(p.status == .closed)
        #expect(events == [.lodged, .forwarded, .answered, .rated, .reopened, .answered, .rated, .closed])
        // sent back as not the other province's matter: handled here again, by its assignee if it had one
        let back = try ComplaintProgress(status: .forwarded).applying(.returnFromForward)
        #expect(back.progress == ComplaintProgress(status: .open))
        #expect(back.events == [.returned])
        #expect(try ComplaintProgress(status: .forwarded, assignee: "a").applying(.returnFromForward).progress.status == .assigned)
    }
}
