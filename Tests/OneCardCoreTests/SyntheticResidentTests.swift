import Foundation
import Testing
@testable import OneCardCore

@Suite("Synthetic residents (bench populate)")
struct SyntheticResidentTests {
    let today = CalendarDay(year: 2026, month: 11, day: 23)!

    @Test func everyNumberIsAValidResidentNumberOfACountyOfTheProvince() throws {
        let residents = SyntheticResidents(province: "440000")
        #expect(residents.counties.count > 100)
        for k in [0, 1, 2, 999, 123_456, 9_999_999, residents.capacity - 1] {
            let r = residents.resident(k)
            // validate: the number passes GB 11643 (check character, real birth date, GB/T 2260 code) and its region is in the table
            let number = try IdentityNumber(r.idNumber, type: .resident, today: today)
            #expect(number.regionCode.hasPrefix("44"))
            #expect(RegionTable.shared.entry(number.regionCode)?.lastRevision == residents.counties.compactMap { RegionTable.shared.entry($0)?.lastRevision }.max())
            #expect(number.birthDate >= CalendarDay(year: 1930, month: 1, day: 1)! && number.birthDate < CalendarDay(year: 2013, month: 1, day: 1)!)
            try Person.validate(name: r.name, phone: r.phone, address: r.address)
        }
    }

    @Test func theSameNumberIsTheSameResident() {
        let residents = SyntheticResidents(province: "110000")
        #expect(residents.resident(4242) == residents.resident(4242))
        #expect(residents.resident(4242) != residents.resident(4243))
    }

    @Test func distinctResidentsHaveDistinctIDAndCardNumbers() {
        // setup: a province with few counties wraps the birth day and the sequence soonest
        let residents = SyntheticResidents(province: "110000")
        let n = 200_000
        // validate
        var ids = Set<String>(), cards = Set<CardNumber>()
        for k in 0..<n {
            let r = residents.resident(k)
            ids.insert(r.idNumber)
            cards.insert(r.cardNumber)
        }
        #expect(ids.count == n)
        #expect(cards.count == n)
        // across the wrap of the birth days into the next sequence number, and across card letters
        let wrap = residents.counties.count * 30_000
        #expect(residents.resident(wrap).idNumber != residents.resident(0).idNumber)
        #expect(residents.resident(wrap).idNumber.prefix(14) == residents.resident(0).idNumber.prefix(14))
        #expect(residents.resident(100_000_000).cardNumber != residents.resident(0).cardNumber)
    }

    @Test func aCardNumberNamesItsResident() throws {
        let residents = SyntheticResidents(province: "440000")
        for k in [0, 41, 99_999_999, 100_000_000, 345_678_901] { #expect(residents.index(of: residents.resident(k).cardNumber) == k) }
        #expect(residents.index(of: try CardNumber("A12345678")) == nil)
    }

    @Test func aProvinceWithoutCountiesUsesTheWholeTable() throws {
        let residents = SyntheticResidents(province: "990000")
        #expect(residents.counties.count > 2000)
        _ = try IdentityNumber(residents.resident(7).idNumber, type: .resident, today: today)
    }
}
