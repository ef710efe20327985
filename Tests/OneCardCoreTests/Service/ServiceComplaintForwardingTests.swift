import Foundation
import Testing
@testable import OneCardCore

/// JJJ art. 23: a complaint about another province goes to that province; one about this province stays here.
@Suite("Service: where a complaint about another province goes, and its return")
struct ServiceComplaintForwardingTests {
    @Test func aComplaintNamingAnotherProvinceOrOneOfItsCitiesGoesThere() {
        #expect(ComplaintForwarding.target(regionCode: "120000", reportedUseRegion: nil, home: "110000") == "120000")
        #expect(ComplaintForwarding.target(regionCode: "120103", reportedUseRegion: nil, home: "110000") == "120000")
        // this province's own, or a city of it: handled here
        #expect(ComplaintForwarding.target(regionCode: "110105", reportedUseRegion: nil, home: "110000") == nil)
        #expect(ComplaintForwarding.target(regionCode: nil, reportedUseRegion: nil, home: "110000") == nil)
        // a code that is no region is not a destination
        #expect(ComplaintForwarding.target(regionCode: "999999", reportedUseRegion: nil, home: "110000") == nil)
    }

    @Test func aUseReportedByAnotherProvinceDecidesBeforeTheRegionNamed() {
        // the use happened in Hebei: that is where it is handled, whatever region the holder picked
        #expect(ComplaintForwarding.target(regionCode: "120000", reportedUseRegion: "130102", home: "110000") == "130000")
        #expect(ComplaintForwarding.target(regionCode: nil, reportedUseRegion: "120103", home: "110000") == "120000")
    }

    @Test func theReceivingProvinceReturnsWhatIsNotItsMatterAndTheOriginHandlesItAgain() throws {
        // the receiving side: open or assigned → returned, closed there
        let here = try ComplaintProgress(status: .assigned, assignee: "agent").applying(.returnToOrigin)
        #expect(here.progress.status == .closed && here.events == [.returned, .closed])
        #expect(throws: DomainError.self) { try ComplaintProgress(status: .answered).applying(.returnToOrigin) }
        // the origin: forwarded → returned, open again
        let origin = try ComplaintProgress().applying(.forward)
        #expect(origin.progress.status == .forwarded && origin.events == [.forwarded])
        let back = try origin.progress.applying(.returnFromForward)
        #expect(back.progress.status == .open && back.events == [.returned])
        // the other province's answer to a forwarded complaint
        #expect(try origin.progress.applying(.answer).progress.status == .answered)
    }
}
