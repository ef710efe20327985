import Foundation

/// A service outlet (服务网点) with its published hours, services and accessibility (all five regulations
/// ask for outlets to be published; BJ art. 16 and CQ art. 15 for the elderly and disabled).
public struct Outlet: Codable, Sendable, Equatable {
    public typealias ID = String
    public var id: ID
    public var name: String
    public var regionCode: String
    public var address: String
    public var services: [String]
    public var hours: String
    public var accessibility: [String]

    public init(id: ID, name: String, regionCode: String, address: String, services: [String], hours: String, accessibility: [String]) {
        self.id = id; self.name = name; self.regionCode = regionCode; self.address = address
        self.services = services; self.hours = hours; self.accessibility = accessibility
    }

    public static let knownServices = ["apply", "pickup", "activate", "report_loss", "unlock", "replace", "cancel", "consult"]

    public func validate() throws(DomainError) {
        try TextRule.check(name, "name", max: 100)
        _ = try RegionCode(regionCode)
        try TextRule.check(address, "address", max: 200)
        guard !services.isEmpty, services.allSatisfy(Self.knownServices.contains) else {
            throw .invalidField("services", "one or more of \(Self.knownServices.joined(separator: ", "))")
        }
        try TextRule.check(hours, "hours", max: 200)
        guard accessibility.count <= 20 else { throw .invalidField("accessibility", "up to 20 features") }
        for feature in accessibility { try TextRule.check(feature, "accessibility", max: 60) }
    }
}

/// A cooperating bank with its publicly selected agreement (GD bank articles).
public struct Bank: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable { case active, suspended, terminated }
    public var code: String
    public var name: String
    public var agreementFrom: CalendarDay
    public var agreementTo: CalendarDay
    public var endpoint: String?
    public var status: Status

    public init(code: String, name: String, agreementFrom: CalendarDay, agreementTo: CalendarDay, endpoint: String?, status: Status) {
        self.code = code; self.name = name; self.agreementFrom = agreementFrom; self.agreementTo = agreementTo
        self.endpoint = endpoint; self.status = status
    }

    public func validate() throws(DomainError) {
        guard (2...20).contains(code.count), code.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }) else {
            throw .invalidField("code", "2 to 20 upper-case letters, digits or '_'")
        }
        try TextRule.check(name, "name", max: 100)
        guard agreementFrom <= agreementTo else { throw DomainError(.invalidAgreementPeriod, "agreementTo must not be before agreementFrom") }
        if let endpoint {
            guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw .invalidField("endpoint", "an http or https URL")
            }
        }
    }

    /// Whether new cards may be opened with this bank today (a suspended bank keeps its existing cards).
    public func acceptsNewCards(on day: CalendarDay) -> Bool {
        status == .active && agreementFrom <= day && day <= agreementTo
    }
}

extension CalendarDay: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard text.count == 10, let d = CalendarDay(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected a date YYYY-MM-DD"))
        }
        self = d
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
