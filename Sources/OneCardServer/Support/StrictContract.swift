import OneCardCore
import OneCardStore

extension ServerConfiguration {
    /// Reads `ONECARD_STRICT_CONTRACT` (`1` or `0`, unset is `0`) once at start-up.
    public static func strictContract(environment: [String: String]) throws(ConfigurationError) -> Bool {
        switch environment["ONECARD_STRICT_CONTRACT"] ?? "" {
        case "", "0": false
        case "1": true
        case let other: throw ConfigurationError("ONECARD_STRICT_CONTRACT must be 1 or 0 (got \(other))")
        }
    }
}
