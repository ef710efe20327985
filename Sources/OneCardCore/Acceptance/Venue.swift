import Foundation

/// An acceptance venue (hospital, gate, library, hotel, …) operated by an organisation.
public struct Venue: Sendable, Equatable {
    public typealias ID = Identifier<Venue>
    public var id: ID
    public var name: String
    public var operatorUscc: String
    public var type: VenueType
    public var regionCode: String
    public var address: String
    public var accessibility: [String]
    public var unifiedLogo: Bool
    public var itemCodes: [String]

    public init(id: ID, name: String, operatorUscc: String, type: VenueType, regionCode: String, address: String,
                accessibility: [String], unifiedLogo: Bool, itemCodes: [String]) {
        self.id = id; self.name = name; self.operatorUscc = operatorUscc; self.type = type; self.regionCode = regionCode
        self.address = address; self.accessibility = accessibility; self.unifiedLogo = unifiedLogo; self.itemCodes = itemCodes
    }
}

/// A venue's terminal: its API key is kept only as a SHA-256, and a revoked key stays for the record.
public struct Terminal: Sendable, Equatable {
    public typealias ID = Identifier<Terminal>
    public var id: ID
    public var venueId: Venue.ID
    public var keyHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: ID, venueId: Venue.ID, keyHash: String, createdAt: Date, revokedAt: Date?) {
        self.id = id; self.venueId = venueId; self.keyHash = keyHash; self.createdAt = createdAt; self.revokedAt = revokedAt
    }
}
