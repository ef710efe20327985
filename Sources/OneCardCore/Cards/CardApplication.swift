import Foundation

public enum ApplicationChannel: String, Codable, Sendable, CaseIterable { case counter, web, mobile, kiosk, bank }
public enum Delivery: String, Codable, Sendable, CaseIterable { case pickup, mail }

public enum ApplicationStatus: String, Codable, Sendable, CaseIterable {
    case submitted, approved, rejected, produced, ready, collected
    /// Waiting for the national hub to confirm the person holds no card elsewhere (一人一卡); never issued unchecked.
    case pendingNationalCheck = "pending_national_check"

    /// An application still under way blocks another one for the same person.
    public var isOpen: Bool { self != .rejected && self != .collected }
}

/// The steps an application moves through at the card agency.
public enum ApplicationStep: String, Sendable {
    case approve, reject, produce, ready, collect

    public var eventType: String { "application_\(target.rawValue)" }

    public var target: ApplicationStatus {
        switch self {
        case .approve: .approved
        case .reject: .rejected
        case .produce: .produced
        case .ready: .ready
        case .collect: .collected
        }
    }
}

public enum ApplicationLifecycle {
    /// The one place that says which step is legal from which status.
    public static func next(from status: ApplicationStatus, _ step: ApplicationStep) throws(DomainError) -> ApplicationStatus {
        switch (step, status) {
        case (.approve, .submitted), (.reject, .submitted), (.reject, .approved), (.reject, .pendingNationalCheck),
             (.produce, .approved), (.ready, .produced), (.collect, .ready):
            return step.target
        default:
            throw .invalidTransition("an application that is \(status.rawValue) cannot be given \(step.rawValue)")
        }
    }

    /// Where an application waiting for the national check goes once the hub answers: on to the agency when the person
    /// is this region's to serve, rejected when another province holds the person's card or application.
    public static func afterNationalCheck(from status: ApplicationStatus, granted: Bool) throws(DomainError) -> ApplicationStatus {
        guard status == .pendingNationalCheck else { throw .invalidTransition("the application is \(status.rawValue), not waiting for the national check") }
        return granted ? .submitted : .rejected
    }

    /// The deadline of an application: the jurisdiction's published time limit from submission
    /// (BJ art. 7, CQ art. 15, ZJ: conditions, process and time limits are published).
    public static func dueAt(submittedAt: Date, timeLimitDays: Int) -> Date {
        submittedAt.addingTimeInterval(TimeInterval(timeLimitDays) * 86_400)
    }

    /// Applying outside the household province is a remote application (异地申领, ZJ).
    public static func isRemote(householdRegion: String, outletRegion: String) -> Bool {
        RegionTable.province(of: householdRegion) != RegionTable.province(of: outletRegion)
    }
}
