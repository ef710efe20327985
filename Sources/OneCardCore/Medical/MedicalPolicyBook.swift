import Foundation

/// One region's preset file in `Resources/MedicalPolicies` (one per jurisdiction pack).
public struct MedicalPolicyPreset: Codable, Sendable, Equatable {
    /// The jurisdiction pack's province code.
    public var regionCode: String
    public var name: String
    /// Always true for shipped files: the figures are presets for an admin to confirm (wave2-facts §1.3 [S2]).
    public var preset: Bool
    public var source: String
    public var notes: [String]
    public var policies: [MedicalPolicy]
}

/// The insured-place policies shipped as presets; an admin's PUT makes a new version over them.
public struct MedicalPolicyBook: Sendable {
    public let policies: [MedicalPolicy]

    public init(policies: [MedicalPolicy]) { self.policies = policies }

    /// The files in `Resources/MedicalPolicies`. A file that does not decode stops start-up in the
    /// server (`loadShipped`); here it is left out so Core stays usable.
    public static let shipped: MedicalPolicyBook = MedicalPolicyBook(policies: ((try? loadShipped()) ?? []).flatMap(\.policies))

    /// Every preset file, decoded and validated; throws naming the file that is wrong.
    public static func loadShipped() throws -> [MedicalPolicyPreset] {
        let dir = Bundle.module.resourceURL!.appendingPathComponent("MedicalPolicies")
        let urls = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        return try urls.map { url in
            do {
                let preset = try JSONDecoder().decode(MedicalPolicyPreset.self, from: Data(contentsOf: url))
                for p in preset.policies { try p.validate() }
                return preset
            } catch {
                throw ConfigurationError("\(url.lastPathComponent): \(error)")
            }
        }
    }

    /// The policy for an insured region: its own, else its prefecture's (the pooling region), else its province's.
    public func policy(insuredRegion: String, scheme: MedicalScheme, care: MedicalCare, on day: CalendarDay) -> MedicalPolicy? {
        for region in Self.regions(insuredRegion) {
            let versions = policies.filter { $0.regionCode == region && $0.scheme == scheme && $0.care == care }
            if let p = MedicalPolicyVersions.inForce(versions, on: day) { return p }
        }
        return nil
    }

    /// The regions whose policy may apply to an insured region, in the order they are tried: its own, its
    /// prefecture's (the pooling region), its province's.
    public static func regions(_ insuredRegion: String) -> [String] {
        [insuredRegion, String(insuredRegion.prefix(4)) + "00", RegionTable.province(of: insuredRegion)]
    }
}
