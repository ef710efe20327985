import Foundation
import OneCardCore
import SQLKit

public struct OutletRepository: Sendable {
    let db: any SQLDatabase

    public func insert(_ o: Outlet, at: Date) async throws {
        try await db.raw("""
            INSERT INTO outlets (id, name, region_code, address, services, hours, accessibility, created_at)
            VALUES (\(bind: o.id), \(bind: o.name), \(bind: o.regionCode), \(bind: o.address), \(bind: JSONColumn.encode(o.services)),
                    \(bind: o.hours), \(bind: JSONColumn.encode(o.accessibility)), \(bind: at.millis))
            """).run()
    }

    /// Changes what an outlet publishes about itself (its id and region stay); false when there is no such outlet.
    public func update(_ o: Outlet) async throws -> Bool {
        guard try await find(o.id) != nil else { return false }
        try await db.raw("""
            UPDATE outlets SET name = \(bind: o.name), address = \(bind: o.address), services = \(bind: JSONColumn.encode(o.services)),
                hours = \(bind: o.hours), accessibility = \(bind: JSONColumn.encode(o.accessibility))
            WHERE id = \(bind: o.id)
            """).run()
        return true
    }

    public func find(_ id: Outlet.ID) async throws -> Outlet? {
        try await db.raw("SELECT * FROM outlets WHERE id = \(bind: id)").first().map(Self.decode)
    }

    public func list() async throws -> [Outlet] {
        try await db.raw("SELECT * FROM outlets ORDER BY region_code, name").all().map(Self.decode)
    }

    static func decode(_ r: any SQLRow) throws -> Outlet {
        Outlet(id: try r.string("id"), name: try r.string("name"), regionCode: try r.string("region_code"),
               address: try r.string("address"), services: JSONColumn.decode(try r.string("services")),
               hours: try r.string("hours"), accessibility: JSONColumn.decode(try r.string("accessibility")))
    }
}

