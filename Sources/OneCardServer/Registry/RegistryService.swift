import Foundation
import OneCardCore
import OneCardStore

/// Persons, outlets and banks.
struct RegistryService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource

    func registerPerson(idType: IDType, idNumber: String, name: String, phone: String, address: String?, actor: String) async throws -> Person {
        let number = try IdentityNumber(idNumber, type: idType, today: CalendarDay(clock.now()))
        let name = name.trimmingCharacters(in: .whitespaces)
        try Person.validate(name: name, phone: phone, address: address)
        let person = Person(id: Person.ID(random.uuid()), idNumber: number, name: name, phone: phone, address: address, createdAt: clock.now())
        do {
            try await store.write { s in
                try await s.persons.insert(person)
                try await s.audit.append(at: person.createdAt, actor: actor, action: "person_registered", subject: "person:\(person.id)", purpose: nil)
            }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.personExists, "a person with this ID number is registered")
        }
        return person
    }

    func person(_ id: Person.ID) async throws -> Person {
        guard let p = try await store.read({ try await $0.persons.find(id) }) else {
            throw DomainError(.personNotFound, "no person \(id)")
        }
        return p
    }

    /// A person read by staff (masked views too): audited as `person_read` with who read whom (issue 17; PIPL art. 51
    /// asks for records of access to personal information).
    func person(_ id: Person.ID, readBy actor: String) async throws -> Person {
        try await store.write { s in
            guard let p = try await s.persons.find(id) else { throw DomainError(.personNotFound, "no person \(id)") }
            try await s.audit.append(at: clock.now(), actor: actor, action: "person_read", subject: "person:\(id)", purpose: nil)
            return p
        }
    }

    /// The person registered with this ID number (the blind index), for a staff desk: the number is checked as at
    /// registration, and the read is audited as staff reads of a person are.
    func person(idType: IDType, idNumber: String, readBy actor: String) async throws -> Person {
        let number = try IdentityNumber(idNumber, type: idType, today: CalendarDay(clock.now()))
        return try await store.write { s in
            guard let p = try await s.persons.find(idNumber: number.value) else { throw DomainError(.personNotFound, "no person with this ID number") }
            try await s.audit.append(at: clock.now(), actor: actor, action: "person_looked_up", subject: "person:\(p.id)", purpose: nil)
            return p
        }
    }

    /// The person with this ID number, if registered.
    func person(idNumber: String) async throws -> Person? {
        try await store.read { try await $0.persons.find(idNumber: idNumber) }
    }

    /// Several persons by id (masked views of a queue).
    func persons(ids: [Person.ID]) async throws -> [Person.ID: Person] {
        try await store.read { s in
            var out: [Person.ID: Person] = [:]
            for id in Set(ids) { out[id] = try await s.persons.find(id) }
            return out
        }
    }

    /// The full record, written to the audit log with who asked, about whom, why and when.
    /// The full record, audited with its purpose. A staff read (`staff`) is refused in incident mode; a holder's own
    /// read (their data export) is not.
    func unmaskedPerson(_ id: Person.ID, purpose: String, actor: String, staff: Bool = true) async throws -> Person {
        try await store.write { s in
            guard let p = try await s.persons.find(id) else { throw DomainError(.personNotFound, "no person \(id)") }
            if staff { try await IncidentService.checkUnmaskingAllowed(in: s) }
            try await s.audit.append(at: clock.now(), actor: actor, action: "person_unmasked_read", subject: "person:\(id)", purpose: purpose)
            return p
        }
    }

    func createOutlet(_ input: Outlet) async throws -> Outlet {
        var outlet = input
        outlet.id = random.uuid()
        try outlet.validate()
        let created = outlet
        try await store.write { s in try await s.outlets.insert(created, at: clock.now()) }
        return created
    }

    /// Changes an outlet's name, address, hours, services or accessibility (the published conditions of service,
    /// BJ art. 16, CQ art. 15); its id and region stay. Audited.
    func updateOutlet(_ id: String, name: String, address: String, services offered: [String], hours: String, accessibility: [String], actor: String) async throws -> Outlet {
        try await store.write { s in
            guard var outlet = try await s.outlets.find(id) else { throw DomainError(.outletNotFound, "no outlet \(id)") }
            outlet.name = name; outlet.address = address; outlet.services = offered; outlet.hours = hours; outlet.accessibility = accessibility
            try outlet.validate()
            _ = try await s.outlets.update(outlet)
            try await s.audit.append(at: clock.now(), actor: actor, action: "outlet_updated", subject: "outlet:\(id)", purpose: nil)
            return outlet
        }
    }

    /// Every outlet, with its hours, services and accessibility.
    func outlets() async throws -> [Outlet] {
        try await store.read { try await $0.outlets.list() }
    }

    /// Every cooperating bank.
    func banks() async throws -> [Bank] {
        try await store.read { try await $0.banks.list() }
    }

    func createBank(_ bank: Bank) async throws -> Bank {
        try bank.validate()
        do {
            try await store.write { s in try await s.banks.insert(bank, at: clock.now()) }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.bankExists, "a bank with code \(bank.code) exists")
        }
        return bank
    }
}
