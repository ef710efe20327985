import Foundation
import NIOConcurrencyHelpers
import OneCardCore
import OneCardStore

/// The node's incident mode (issue 17; the emergency response of JJJ art. 21, CQ art. 16, ZJ art. 18, GD art. 17).
/// While it is on:
/// - every venue must verify online: the signed revocation feed says `incident: true` and offline gates refuse every
///   credential with `online_check_required`;
/// - the QR signing key was rotated when it was switched on (tokens signed before stay valid until they expire);
/// - unmasked reads of personal data by staff are frozen (`incident_mode`), the auditor's reading is not;
/// - every staff page shows it.
/// Switching it on or off needs a reason and is audited.
struct IncidentService: Sendable {
    let store: Store
    let clock: Clock
    /// Rotates the QR signing key when incident mode begins.
    let keys: KeyService
    /// What this process last read, for the pages' banner (refreshed by every read and by the risk monitor).
    var flag = IncidentFlag()

    struct State: Codable, Sendable, Equatable {
        var active: Bool
        var reason: String?
        /// When it was last switched, and by whom.
        var since: Date?
        var by: String?
        static let off = State(active: false, reason: nil, since: nil, by: nil)
    }

    static let settingName = "incident"

    /// The state as stored, read in the caller's transaction.
    static func state(in s: StoreSession) async throws -> State {
        guard let row = try await s.risk.setting(settingName),
              let stored = try? JSONDecoder().decode(Stored.self, from: Data(row.value.utf8)) else { return .off }
        return State(active: stored.active, reason: stored.reason, since: row.at, by: row.by)
    }

    private struct Stored: Codable { var active: Bool; var reason: String }

    func current() async throws -> State {
        let state = try await store.read { try await Self.state(in: $0) }
        flag.state = state
        return state
    }

    /// Switches incident mode; switching it on rotates the QR signing key. Setting the state it already has changes
    /// nothing and answers it.
    func set(active: Bool, reason: String, by actor: String) async throws -> State {
        let now = clock.now()
        let changed = try await store.write { s -> Bool in
            guard try await Self.state(in: s).active != active else { return false }
            let value = String(decoding: try JSONEncoder().encode(Stored(active: active, reason: reason)), as: UTF8.self)
            try await s.risk.setSetting(Self.settingName, value, by: actor, at: now)
            try await s.audit.append(at: now, actor: actor, action: active ? "incident_mode_on" : "incident_mode_off", subject: "node", purpose: reason)
            return true
        }
        if changed && active {
            try await keys.rotateSigningKey(actor: actor, purpose: "incident mode")
        }
        return try await current()
    }

    /// Refuses an unmasked staff read while incident mode is on (the caller's transaction).
    static func checkUnmaskingAllowed(in s: StoreSession) async throws {
        if try await state(in: s).active {
            throw DomainError(.incidentMode, "incident mode: unmasked reads of personal data are frozen until an administrator ends it")
        }
    }
}

/// Incident mode as this process last saw it (pages render synchronously and read it here); another process's switch
/// shows within the risk monitor's interval.
final class IncidentFlag: Sendable {
    private let box = NIOLockedValueBox(IncidentService.State.off)
    var state: IncidentService.State {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}
