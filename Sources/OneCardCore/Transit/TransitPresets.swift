import Foundation

/// An operator's fares as shipped for `--demo` and tests (`Resources/Transit/fare-presets.json`). Operators enter their
/// own tables (`POST /api/v1/transit/operators`); these are starting points, each labelled with its source.
public struct FarePreset: Codable, Sendable, Equatable {
    public var operatorCode: String
    public var name: String
    public var regionCode: String
    public var mode: TransitMode
    public var fareTable: FareTable
}

/// The transit data shipped with OneCard.
public enum TransitPresets {
    /// Fare tables of the operators wave2-facts §2.2 describes.
    public static let fares: [FarePreset] = load([FarePreset].self, "fare-presets") ?? []

    /// Concessions national law grants wherever the ride happens (`Resources/Transit/national-concessions.json`).
    /// The serving and disabled military's free rides (军人抚恤优待条例 art. 52) have no entitlement code yet
    /// (API.md lists none), so they are not here.
    public static let nationalConcessions: [TransitConcession] = load([TransitConcession].self, "national-concessions") ?? []

    public static func fare(_ operatorCode: String) -> FarePreset? { fares.first { $0.operatorCode == operatorCode } }

    static func load<T: Decodable>(_ type: T.Type, _ name: String) -> T? {
        guard let url = Bundle.module.resourceURL?.appendingPathComponent("Transit").appendingPathComponent(name + ".json"),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}
