import Foundation

/// A holder's request to correct or delete their personal data (PIPL art. 46: correction of inaccurate or incomplete
/// data; art. 47: deletion where the purpose is met, consent withdrawn or the law allows; art. 50: a convenient way to
/// ask, and reasons given when a request is refused). An agent decides it by a deadline in working days; a request that
/// is granted changes the person record in the same step.
public struct DataRequest: Sendable, Equatable {
    public typealias ID = String

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case correction, deletion
    }

    /// What the request is about. `other` is anything the platform holds about the holder that has no field of its own
    /// (a use record, a complaint's text): the agent handles it and says what was done.
    public enum Field: String, Codable, Sendable, CaseIterable {
        case name, phone, address, other
    }

    public enum Status: String, Codable, Sendable, CaseIterable {
        case open, done, refused
    }

    public var id: ID
    public var personId: Person.ID
    public var kind: Kind
    public var field: Field
    /// For a correction of a field: the value the holder says is right (sealed at rest).
    public var value: String?
    /// The holder's words (sealed at rest).
    public var reason: String
    public var receivedAt: Date
    public var dueAt: Date
    /// Counted over a year the holiday calendar does not cover yet (weekdays there); recomputed when it is loaded.
    public var dueProvisional: Bool
    public var status: Status
    public var decidedAt: Date?
    public var decidedBy: String?
    /// What was done, or why not (art. 50: a refusal gives its reasons).
    public var note: String?

    public init(id: ID, personId: Person.ID, kind: Kind, field: Field, value: String?, reason: String, receivedAt: Date, dueAt: Date,
                dueProvisional: Bool, status: Status = .open, decidedAt: Date? = nil, decidedBy: String? = nil, note: String? = nil) {
        self.id = id; self.personId = personId; self.kind = kind; self.field = field; self.value = value; self.reason = reason
        self.receivedAt = receivedAt; self.dueAt = dueAt; self.dueProvisional = dueProvisional; self.status = status
        self.decidedAt = decidedAt; self.decidedBy = decidedBy; self.note = note
    }

    /// Checks what a holder asks before it is taken.
    ///
    /// - A correction of the name, phone or address brings the right value, valid as a registration would be.
    /// - Only the address can be deleted by this request: the name and the phone number are needed to issue and service
    ///   the card while it exists (PIPL art. 47 ¶1 lets a handler keep what a law or the service still needs; the card
    ///   regulations require the holder's identity and contact), so asking to delete them is `not_deletable`.
    ///   Anything else (`other`) is described in the reason and decided by an agent.
    public static func validate(kind: Kind, field: Field, value: String?, reason: String) throws(DomainError) {
        try TextRule.check(reason, "reason", max: 1000, notBlank: true)
        // Whatever it is for, a value sent is one line of at most 200 characters (the form the document gives it).
        if let value { try TextRule.check(value, "value", max: 200, notBlank: true, oneLine: true) }
        switch (kind, field) {
        case (.correction, .other), (.deletion, .address), (.deletion, .other):
            break  // a value sent with these is not kept (`value(for:)`)
        case (.correction, _):
            guard let value, !value.isEmpty else { throw DomainError(.valueRequired, "the correct \(field.rawValue) is required") }
            do {
                switch field {
                case .name: try TextRule.check(value, "value", max: 64, notBlank: true, oneLine: true)
                case .phone: try Person.validate(name: "x", phone: value, address: nil)
                case .address: try TextRule.check(value, "value", max: 200, notBlank: true)
                case .other: break
                }
            } catch {
                throw DomainError(.valueInvalid, "not a valid \(field.rawValue): \(error.detail)")
            }
        case (.deletion, .name), (.deletion, .phone):
            throw DomainError(.notDeletable, "the \(field.rawValue) is kept while the card exists: it is needed to issue and service it")
        }
    }

    /// The value kept with a request: only a correction of a field carries one.
    public static func value(_ value: String?, for kind: Kind, _ field: Field) -> String? {
        kind == .correction && field != .other ? value : nil
    }

    /// Decides an open request: `done` (a correction or deletion of a field is applied by `apply(to:)` in the same step)
    /// or `refused`, which must say why (art. 50). A decided request is not decided again.
    public mutating func decide(_ outcome: Status, note: String?, by actor: String, at date: Date) throws(DomainError) {
        guard status == .open else { throw DomainError(.requestDecided, "the request was \(status.rawValue) already") }
        guard outcome != .open else { throw .invalidField("outcome", "done or refused") }
        if let note { try TextRule.check(note, "note", max: 1000, notBlank: true) }
        if outcome == .refused, note == nil { throw DomainError(.noteRequired, "a refusal gives its reasons (PIPL art. 50)") }
        status = outcome; self.note = note; decidedBy = actor; decidedAt = date
    }

    /// The person record as a granted request leaves it (unchanged for `other`, which the agent handles by hand).
    public func apply(to person: Person) -> Person {
        var p = person
        switch (kind, field) {
        case (.correction, .name): p.name = value ?? p.name
        case (.correction, .phone): p.phone = value ?? p.phone
        case (.correction, .address): p.address = value
        case (.deletion, .address): p.address = nil
        default: break
        }
        return p
    }

    /// Past its deadline and still open at `date`.
    public func isOverdue(at date: Date) -> Bool { status == .open && dueAt < date }
}

/// The holder's rights and data retention in a region's pack (`privacy`); absent members take the preset.
public struct PrivacyPolicy: Codable, Sendable, Equatable {
    /// Working days to decide a correction or deletion request.
    public var requestWorkingDays: Int
    public var retention: [RetentionRule]
    public var basis: String

    public init(requestWorkingDays: Int, retention: [RetentionRule], basis: String) {
        self.requestWorkingDays = requestWorkingDays; self.retention = retention; self.basis = basis
    }

    /// Preset [S2]: PIPL gives no number of days; GB/T 35273-2020 §8.7 asks for an answer within 30 days, and 15 working
    /// days stays inside it even across a Golden Week. The retention periods below are presets too: no national period
    /// was found for these records (wave2-facts gives archive classes of 10–100 years for HR&SS business files, which
    /// this platform does not delete); each is the shortest that still serves disputes and supervision.
    public static let preset = PrivacyPolicy(
        requestWorkingDays: 15,
        retention: [
            RetentionRule(record: .uses, keepDays: 5 * 365, basis: "preset [S2]: card uses kept five years, as credit query logs are (Shenzhen art. 45); then anonymised, counts kept"),
            RetentionRule(record: .closedComplaints, keepDays: 3 * 365, basis: "preset [S2]: three years after closing; then the text and the complainant are removed, counts kept"),
            RetentionRule(record: .withdrawnConsents, keepDays: 3 * 365, basis: "preset [S2]: proof of a withdrawn consent kept three years (PIPL art. 47 ¶1 (3))"),
            RetentionRule(record: .decidedDataRequests, keepDays: 3 * 365, basis: "preset [S2]: three years after the decision"),
            RetentionRule(record: .resolvedRiskAlerts, keepDays: 3 * 365, basis: "preset [S2]: three years after resolution"),
            RetentionRule(record: .federationEvidence, keepDays: 3 * 365, basis: "preset [S2]: signed exchange records and acknowledged messages kept three years"),
            RetentionRule(record: .endedLabourContracts, keepDays: RetentionRule.minimumContractDays,
                          basis: "劳动合同法 art. 50 ¶3: a terminated contract is kept at least two years (731 days covers a leap year); counted from the end of its last day"),
        ],
        basis: "preset [S2]: PIPL arts. 19, 47, 50; GB/T 35273-2020 §8.7")

    public func validate() throws(DomainError) {
        guard (1...60).contains(requestWorkingDays) else { throw .invalidField("privacy.requestWorkingDays", "1 to 60 working days") }
        for r in retention where r.keepDays < 30 { throw .invalidField("privacy.retention.\(r.record.rawValue)", "at least 30 days") }
        // 劳动合同法 art. 50 ¶3: no pack deletes a labour contract less than two years after it ended.
        if let r = rule(for: .endedLabourContracts), r.keepDays < RetentionRule.minimumContractDays {
            throw .invalidField("privacy.retention.ended_labour_contracts", "at least \(RetentionRule.minimumContractDays) days (two years, Labour Contract Law art. 50)")
        }
        guard Set(retention.map(\.record)).count == retention.count else { throw .invalidField("privacy.retention", "one rule per record type") }
    }

    public func rule(for record: RetentionRule.Record) -> RetentionRule? { retention.first { $0.record == record } }
}

/// How long one type of record is kept, and what happens after (PIPL art. 19: no longer than the purpose needs).
public struct RetentionRule: Codable, Sendable, Equatable {
    public enum Record: String, Codable, Sendable, CaseIterable {
        /// Acceptance and identity-check records: anonymised (card, person, disclosed data and answer removed).
        case uses
        /// Closed complaints: anonymised (text, answer, complainant and event notes removed).
        case closedComplaints = "closed_complaints"
        /// Withdrawn consents: deleted.
        case withdrawnConsents = "withdrawn_consents"
        /// Decided correction and deletion requests: deleted.
        case decidedDataRequests = "decided_data_requests"
        /// Resolved risk alerts: deleted.
        case resolvedRiskAlerts = "resolved_risk_alerts"
        /// Signed federation exchange records, acknowledged outbox and inbox entries: deleted.
        case federationEvidence = "federation_evidence"
        /// Electronic labour contracts that ended (HR&SS file library): deleted, never less than two years after the end.
        case endedLabourContracts = "ended_labour_contracts"

        public var action: String {
            switch self {
            case .uses, .closedComplaints: "anonymise"
            default: "delete"
            }
        }
    }

    public var record: Record
    public var keepDays: Int
    public var basis: String

    /// Two years counted in days, a leap day included: the least a terminated labour contract is kept (劳动合同法 art. 50 ¶3).
    public static let minimumContractDays = 731

    public init(record: Record, keepDays: Int, basis: String) { self.record = record; self.keepDays = keepDays; self.basis = basis }

    /// Records older than this (by the time that starts their period) have expired at `now`.
    public func cutoff(at now: Date) -> Date { now.addingTimeInterval(-Double(keepDays) * 86_400) }
}

extension JurisdictionPolicy {
    /// The region's rights deadlines and retention rules: its pack's, or the preset.
    public var privacyPolicy: PrivacyPolicy { privacy ?? .preset }
}

extension WorkingDays {
    /// The end (24:00 CST) of the `n`-th working day after `receivedAt`, never refused for want of a calendar year: the
    /// same reading as a complaint's deadline (`ComplaintClock.deadline`): weekdays in a year not yet covered, marked
    /// provisional.
    public static func deadline(_ n: Int, after receivedAt: Date, calendar: HolidayCalendar) throws(DomainError) -> ComplaintDeadline {
        do throws(DomainError) {
            return ComplaintDeadline(dueAt: try WorkingDays(calendar: calendar).adding(n, to: receivedAt), provisional: false)
        } catch {
            guard error.code == .holidayCalendarNotCovered else { throw error }
            let year = ChinaStandardTime.day(of: receivedAt).year
            let stretched = try WorkingDays(calendar: calendar.withWeekdayYears(year...(year + 1)))
            return ComplaintDeadline(dueAt: try stretched.adding(n, to: receivedAt), provisional: true)
        }
    }
}
