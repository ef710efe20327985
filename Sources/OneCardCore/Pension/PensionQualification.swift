import Foundation

/// The yearly pension qualification check (待遇资格认证) as a region sets it (wave2-facts §6.1): how long a confirmation
/// lasts, when reminders start and how much held pension is paid back. 社会保险经办条例 art. 26 has agencies verify
/// eligibility by data matching (信息比对) and self-service authentication (自助认证); the cycle and the back pay are
/// provincial practice, so they are data here (`pensionQualification` in a pack), with `preset` the defaults of WE-R1.
public struct PensionQualificationPolicy: Codable, Sendable, Equatable {
    /// Months a confirmation is good for: "每次认证时间间隔不超过12个月" (Shandong; Fujian's FAQ: at least once every 12
    /// months); some provinces use 6.
    public var intervalMonths: Int
    /// Months after the first pension payment before the first cycle starts (Fujian: "the same date in the year after
    /// the first pension payment").
    public var firstCycleAfterMonths: Int
    /// Days before the due day from which the holder is reminded (and the status reads `due`).
    public var reminderDays: Int
    /// Months of held pension paid back on confirmation; nil pays it all back (WE-R1's default). Some places cap back
    /// pay at 3 months [U]: held payments older than that are then closed `back_pay_limit` instead.
    public var backPayMonths: Int?
    /// Where the figures come from, for people reading the pack.
    public var basis: String

    public init(intervalMonths: Int, firstCycleAfterMonths: Int, reminderDays: Int, backPayMonths: Int?, basis: String) {
        self.intervalMonths = intervalMonths; self.firstCycleAfterMonths = firstCycleAfterMonths; self.reminderDays = reminderDays
        self.backPayMonths = backPayMonths; self.basis = basis
    }

    /// Preset (WE-R1): a rolling 12 months, the first cycle a year after the first payment, reminders 30 days ahead
    /// (the reminder lead is our choice), full back pay.
    public static let preset = PensionQualificationPolicy(
        intervalMonths: 12, firstCycleAfterMonths: 12, reminderDays: 30, backPayMonths: nil,
        basis: "preset: 社会保险经办条例 art. 26; Fujian HRSS FAQ 2023-11-13 (12 months, first cycle a year after the first payment, back pay on resumption)")

    public func validate() throws(DomainError) {
        guard (1...24).contains(intervalMonths) else { throw .invalidField("pensionQualification.intervalMonths", "1 to 24") }
        guard (0...24).contains(firstCycleAfterMonths) else { throw .invalidField("pensionQualification.firstCycleAfterMonths", "0 to 24") }
        guard (0...120).contains(reminderDays) else { throw .invalidField("pensionQualification.reminderDays", "0 to 120") }
        if let m = backPayMonths, !(0...120).contains(m) { throw .invalidField("pensionQualification.backPayMonths", "0 to 120") }
    }
}

/// How a pensioner was confirmed alive and qualified.
public enum PensionConfirmationMethod: String, Codable, Sendable, CaseIterable {
    /// By the holder with the e-card (self-service authentication).
    case online
    /// At an agency counter or an authorised bank branch.
    case counter
    /// A home visit for someone who cannot go out (wave2-facts §6.1).
    case homeVisit = "home_visit"
    /// A relative acting through family service (亲情代办, allowed in Shandong).
    case relative
    /// Silent authentication: recent card use (a hospital visit, a ride, a venue), only with the holder's consent.
    case passive
}

/// Where a pensioner stands.
public enum PensionStatus: String, Codable, Sendable, CaseIterable {
    case confirmed, due, overdue
}

/// A pensioner's qualification: what their next check is counted from.
public struct PensionQualification: Sendable, Equatable {
    public var personId: Person.ID
    /// The day (CST) the first pension payment was sent.
    public var firstPaidOn: CalendarDay
    public var lastConfirmedAt: Date?
    public var lastMethod: PensionConfirmationMethod?
    /// The due day this pensioner was last reminded of (one reminder per cycle).
    public var remindedFor: CalendarDay?

    public init(personId: Person.ID, firstPaidOn: CalendarDay, lastConfirmedAt: Date?, lastMethod: PensionConfirmationMethod?, remindedFor: CalendarDay?) {
        self.personId = personId; self.firstPaidOn = firstPaidOn; self.lastConfirmedAt = lastConfirmedAt; self.lastMethod = lastMethod
        self.remindedFor = remindedFor
    }
}

/// The one rule of the qualification check (wave2-facts §6.1, WE-R1).
public enum PensionCheck {
    /// The last day the pensioner is qualified without a new check: a confirmation lasts `intervalMonths`; before the
    /// first one, the first cycle starts `firstCycleAfterMonths` after the first payment and lasts `intervalMonths`
    /// (first pension March 2024 → the first check is due by March 2026).
    public static func dueOn(_ q: PensionQualification, policy: PensionQualificationPolicy) -> CalendarDay {
        if let confirmed = q.lastConfirmedAt { return ChinaStandardTime.day(of: confirmed).addingMonths(policy.intervalMonths) }
        return q.firstPaidOn.addingMonths(policy.firstCycleAfterMonths + policy.intervalMonths)
    }

    /// `overdue` once the due day has ended (CST), `due` from `reminderDays` before it, `confirmed` before that.
    public static func status(_ q: PensionQualification, at now: Date, policy: PensionQualificationPolicy) -> PensionStatus {
        let today = ChinaStandardTime.day(of: now), due = dueOn(q, policy: policy)
        if today > due { return .overdue }
        return today >= due.addingDays(-policy.reminderDays) ? .due : .confirmed
    }

    /// A confirmation at `at`: counted from then, never earlier than the last one (a passive match on an older use does
    /// not move the due day back). Nil when it changes nothing.
    public static func confirm(_ q: PensionQualification, at: Date, method: PensionConfirmationMethod) -> PensionQualification? {
        if let last = q.lastConfirmedAt, last >= at { return nil }
        var next = q
        next.lastConfirmedAt = at
        next.lastMethod = method
        return next
    }

    /// Held payments held before this instant are beyond the back-pay limit; nil: everything held is paid back.
    public static func backPayCutoff(confirmedAt: Date, policy: PensionQualificationPolicy) -> Date? {
        guard let months = policy.backPayMonths else { return nil }
        return ChinaStandardTime.startOfDay(ChinaStandardTime.day(of: confirmedAt).addingMonths(-months))
    }

    /// Whether a reminder is owed now: the status is `due` or `overdue` and this cycle's due day was not reminded yet.
    public static func reminderOwed(_ q: PensionQualification, at now: Date, policy: PensionQualificationPolicy) -> Bool {
        status(q, at: now, policy: policy) != .confirmed && q.remindedFor != dueOn(q, policy: policy)
    }
}

/// A reported death (社会保险经办条例 art. 25: the employer, the recipient's relatives or others report it; art. 26: payment
/// stops). The day may not be in the future or before the person was born.
public enum DeathReport {
    public static func check(diedOn: CalendarDay, birthDate: CalendarDay?, today: CalendarDay) throws(DomainError) {
        guard diedOn <= today else { throw DomainError(.invalidDeathDate, "the day of death cannot be in the future") }
        if let birthDate, diedOn < birthDate { throw DomainError(.invalidDeathDate, "the day of death is before the person's birth") }
    }
}
