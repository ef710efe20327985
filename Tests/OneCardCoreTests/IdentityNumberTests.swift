import Foundation
import Testing
@testable import OneCardCore

@Suite("Identity numbers (GB 11643, residence permits, foreigners' permanent residence ID)")
struct IdentityNumberTests {
    let today = CalendarDay(year: 2026, month: 11, day: 23)!

    func resident(_ first17: String) -> String { first17 + String(IdentityNumber.checkCharacter(for: Array(first17))!) }

    @Test func aValidResidentNumberYieldsBirthDateSexAndRegion() throws {
        // The GB 11643 worked example: 11010519491231002X.
        let n = try IdentityNumber("11010519491231002X", type: .resident, today: today)
        #expect(n.birthDate == CalendarDay(year: 1949, month: 12, day: 31))
        #expect(n.sex == .female)
        #expect(n.regionCode == "110105")
        #expect(n.value == "11010519491231002X")
    }

    @Test func aLowerCaseXIsAccepted() throws {
        #expect(try IdentityNumber("11010519491231002x", type: .resident, today: today).value == "11010519491231002X")
    }

    @Test func oddSequenceIsMale() throws {
        #expect(try IdentityNumber(resident("11010519850312013"), type: .resident, today: today).sex == .male)
        #expect(try IdentityNumber(resident("11010519850312024"), type: .resident, today: today).sex == .female)
    }

    @Test(arguments: [
        ("11010519491231002", "length"),
        ("1101051949123100211", "length"),
        ("11010519491231002Y", "characters"),
        ("1101051949123A002X", "characters"),
        ("110105194912310021", "check digit"),
    ])
    func malformedNumbersAreRefused(_ raw: String, _ why: String) {
        #expect(throws: DomainError.self, "\(why)") { try IdentityNumber(raw, type: .resident, today: today) }
        do { _ = try IdentityNumber(raw, type: .resident, today: today) } catch { #expect(error.code == .invalidIdNumber) }
    }

    @Test func impossibleAndFutureBirthDatesAreRefused() {
        for first17 in ["11010519490230001", "11010519491331001", "11010520270101001", "11010518000101001"] {
            #expect(throws: DomainError.self, "\(first17)") { try IdentityNumber(resident(first17), type: .resident, today: today) }
        }
        // 29 February exists in leap years only.
        #expect(throws: Never.self) { try IdentityNumber(resident("11010520000229001"), type: .resident, today: today) }
        #expect(throws: DomainError.self) { try IdentityNumber(resident("11010519000229001"), type: .resident, today: today) }
    }

    @Test func anAddressCodeMustBeInTheGB2260Table() {
        #expect(throws: DomainError.self) { try IdentityNumber(resident("99999919850312001"), type: .resident, today: today) }
        #expect(throws: DomainError.self) { try IdentityNumber(resident("11019919850312001"), type: .resident, today: today) }
    }

    @Test func historicalCodesStayValid() throws {
        // 110103 (崇文区) was merged into 东城区 in 2010 but old ID numbers keep it.
        let entry = try #require(RegionTable.shared.entry("110103"))
        #expect(entry.lastRevision < 201904)
        #expect(try IdentityNumber(resident("11010319700101001"), type: .resident, today: today).regionCode == "110103")
    }

    @Test func residencePermitsUseTheirPrefixes() throws {
        #expect(try IdentityNumber(resident("81000019900101001"), type: .hkMacauResident, today: today).regionCode == "810000")
        #expect(try IdentityNumber(resident("82000019900101001"), type: .hkMacauResident, today: today).regionCode == "820000")
        #expect(try IdentityNumber(resident("83000019900101001"), type: .taiwanResident, today: today).regionCode == "830000")
        // A permit number is not a resident ID, and the types do not mix.
        #expect(throws: DomainError.self) { try IdentityNumber(resident("81000019900101001"), type: .resident, today: today) }
        #expect(throws: DomainError.self) { try IdentityNumber(resident("83000019900101001"), type: .hkMacauResident, today: today) }
        #expect(throws: DomainError.self) { try IdentityNumber(resident("11010519900101001"), type: .taiwanResident, today: today) }
    }

    @Test func foreignersPermanentResidenceIDs() throws {
        // 9, province 11, nationality 840, birth 1980-05-06, sequence 001.
        let n = try IdentityNumber(resident("91184019800506001"), type: .foreignPermanent, today: today)
        #expect(n.regionCode == "110000")
        #expect(n.birthDate == CalendarDay(year: 1980, month: 5, day: 6))
        #expect(n.sex == .male)
        #expect(throws: DomainError.self) { try IdentityNumber(resident("81184019800506001"), type: .foreignPermanent, today: today) }
        #expect(throws: DomainError.self) { try IdentityNumber(resident("99984019800506001"), type: .foreignPermanent, today: today) }
    }

    @Test func regionCodesAreValidatedWhenMade() throws {
        #expect(try RegionCode("440300").province == "440000")
        #expect(throws: DomainError.self) { try RegionCode("44030") }
        #expect(throws: DomainError.self) { try RegionCode("990000") }
    }

    @Test func theTableHoldsEveryCode() {
        #expect(RegionTable.shared.count == 6884)
        #expect(RegionTable.shared.currentCounties(of: "110000").contains { $0.code == "110105" })
    }
}

@Suite("Masking")
struct MaskingTests {
    @Test func idNumbersKeepRegionAndLastFour() {
        #expect(Mask.idNumber("11010519491231002X") == "110105********002X")
    }

    @Test func namesKeepFirstAndLastCharacter() {
        #expect(Mask.name("王秀梅") == "王*梅")
        #expect(Mask.name("王梅") == "王*")
        #expect(Mask.name("欧阳娜娜") == "欧**娜")
    }

    @Test func phonesAndAccounts() {
        #expect(Mask.phone("13800001234") == "138****1234")
        #expect(Mask.account("6212345678901234567") == "***************4567")
    }
}
