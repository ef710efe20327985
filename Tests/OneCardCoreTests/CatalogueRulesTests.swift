import Foundation
import Testing
@testable import OneCardCore

@Suite("Catalogue, alliances, USCC and acceptance rules")
struct CatalogueRulesTests {
    static func item(_ code: String = "JJJ-LIB-001", domain: Domain = .culture, forms: [CardForm] = [.physical, .electronic],
                     regions: [String] = ["110000", "120000", "130000"], issuers: [String] = ["110000", "120000", "130000"],
                     types: [VenueType] = [.library], from: CalendarDay = CalendarDay(year: 2024, month: 1, day: 1)!) -> CatalogueItem {
        CatalogueItem(code: code, name: "公共图书馆借阅", domain: domain, scenario: "借阅", cardForms: forms, level: .alliance, regions: regions,
                      issuers: issuers, venueTypes: types, legalBasis: "京津冀协同立法", effectiveFrom: from)
    }

    func facts(_ item: CatalogueItem?, status: CardStatus? = .active, venue: String = "120101", issuer: String = "110000",
               form: CardForm = .electronic, codes: [String]? = nil, failure: DenialCode? = nil, replayed: Bool = false,
               transit: Bool = true, financial: Bool = true) -> AcceptanceFacts {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let card = status.map {
            Card(number: "A12345678", identificationCode: "", personId: "p", applicationId: nil, issuerRegion: issuer, status: $0, transit: transit,
                 financial: financial, bankCode: nil, accountNumber: nil, pinHash: nil, issuedAt: now, expiresAt: now)
        }
        let venue = Venue(id: "v", name: "图书馆", operatorUscc: "", type: .library, regionCode: venue, address: "", accessibility: [], unifiedLogo: true,
                          itemCodes: codes ?? [item?.code ?? "X"])
        return AcceptanceFacts(credential: VerifiedCredential(form: form, cardNumber: card?.number, failure: failure), card: card, holderEntitlements: nil,
                               replayed: replayed, venue: venue, item: item, today: CalendarDay(year: 2026, month: 11, day: 23)!)
    }

    /// The refusal the decision gives, nil when accepted.
    func decide(_ f: AcceptanceFacts) -> DenialCode? { AcceptanceRules.decide(f).denial }

    @Test func regionCodesNest() {
        #expect(RegionCoverage.covers("110000", "110105"))
        #expect(RegionCoverage.covers("440300", "440305"))
        #expect(!RegionCoverage.covers("440300", "440105"))
        #expect(!RegionCoverage.covers("110105", "110000"))
        #expect(RegionCoverage.overlaps("110105", "110000"))
    }

    @Test func theDecisionTakesTheChecksInOrder() {
        let lib = Self.item()
        #expect(decide(facts(lib)) == nil)  // a Tianjin library on the 京津冀 list accepts a Beijing card
        #expect(decide(facts(lib, failure: .tokenExpired, replayed: true)) == .tokenExpired)
        #expect(decide(facts(lib, status: .lost, replayed: true)) == .tokenReplayed)
        #expect(decide(facts(lib, status: .temporarilyLost)) == .cardLost)
        #expect(decide(facts(lib, status: .replaced)) == .cardCancelled)
        #expect(decide(facts(lib, status: .issued)) == .cardNotActive)
        #expect(decide(facts(nil, status: .active)) == .itemNotInCatalogue)
        #expect(decide(facts(Self.item(from: CalendarDay(year: 2027, month: 1, day: 1)!))) == .itemNotInCatalogue)
        #expect(decide(facts(lib, codes: ["OTHER"])) == .itemNotAtVenue)
        // A Tianjin-only museum refuses a Beijing card.
        let museum = Self.item("12-MUS-001", regions: ["120000"], issuers: ["120000"], types: [.museum])
        #expect(decide(facts(museum)) == .regionNotRecognised)
        #expect(decide(facts(museum, issuer: "120000")) == nil)
        #expect(decide(facts(lib, venue: "310101")) == .regionNotRecognised)
        #expect(decide(facts(Self.item(issuers: ["*"]), issuer: "440000")) == nil)
        #expect(decide(facts(Self.item(forms: [.physical]))) == .cardFormNotAllowed)
        #expect(decide(facts(Self.item(domain: .transit, types: [.transit]), transit: false)) == .functionNotLoaded)
        #expect(decide(facts(Self.item(domain: .finance, types: [.bank]), financial: false)) == .functionNotLoaded)
        #expect(AcceptanceRules.isCrossRegion(issuerRegion: "110000", venueRegion: "120101"))
        #expect(!AcceptanceRules.isCrossRegion(issuerRegion: "110000", venueRegion: "110105"))
    }

    @Test func versionsAreCompared() {
        let a = Self.item("A"), b = Self.item("B"), c = Self.item("C")
        var b2 = b
        b2.name = "改名"
        let diff = CatalogueDiff(from: [a, b], to: [b2, c])
        #expect(diff.added == [c] && diff.withdrawn == [a] && diff.changed.map(\.after) == [b2] && diff.changed.map(\.before) == [b])
    }

    @Test func aCredentialDuplicatesACatalogueItemOfTheSameDomainAndPlace() {
        let lib = Self.item()
        #expect(CredentialRegistration(name: "天津读者证", domain: .culture, regions: ["120101"], nationalMandate: false).duplicates(in: [lib]) == [lib])
        #expect(CredentialRegistration(name: "上海读者证", domain: .culture, regions: ["310000"], nationalMandate: false).duplicates(in: [lib]).isEmpty)
        #expect(CredentialRegistration(name: "天津健身卡", domain: .sports, regions: ["120101"], nationalMandate: false).duplicates(in: [lib]).isEmpty)
    }

    @Test func unifiedSocialCreditCodes() throws {
        // A published example code with its check character.
        #expect(try UnifiedSocialCreditCode("91350100M000100Y43").value == "91350100M000100Y43")
        #expect(throws: DomainError.self) { try UnifiedSocialCreditCode("91350100M000100Y44") }
        #expect(throws: DomainError.self) { try UnifiedSocialCreditCode("91350100M000100Y4") }
        #expect(throws: DomainError.self) { try UnifiedSocialCreditCode("91350100I000100Y43") }  // I is not in the alphabet
    }

    @Test func itemsAreValidated() {
        var bad = Self.item()
        bad.regions = ["999999"]
        #expect(throws: DomainError.self) { try bad.validate() }
        bad = Self.item(); bad.code = "lower case"
        #expect(throws: DomainError.self) { try bad.validate() }
        bad = Self.item(); bad.cardForms = []
        #expect(throws: DomainError.self) { try bad.validate() }
        #expect(throws: Never.self) { try Self.item(issuers: ["*"]).validate() }
    }

    @Test func everyPackHasASeedCatalogueAndVenuesTheSchemaAccepts() throws {
        for p in PolicyBook.shipped.policies.values {
            try p.validate()
            #expect(p.seedCatalogue.count >= 10, "\(p.name)")
            #expect(Set(p.seedCatalogue.map(\.domain)).isSuperset(of: [.hr, .socialInsurance, .medical, .transit, .culture, .tourism, .sports, .identity, .benefits]))
            #expect(p.hotlines.map(\.number).contains("12333") && p.hotlines.map(\.number).contains("12345"))
            #expect(!p.demoVenues.isEmpty)
            #expect(p.alliances.allSatisfy { code in PolicyBook.alliances.contains { $0.code == code && $0.regions.contains { RegionCoverage.overlaps($0, p.regionCode) } } })
        }
        let gd = PolicyBook.shipped.policy(for: "440000")
        #expect(gd.fineRangeYuan?.min == 1000 && gd.fineRangeYuan?.max == 10000)
        #expect(gd.eligibleIdTypes.contains(.hkMacauResident) && !PolicyBook.shipped.policy(for: "110000").eligibleIdTypes.contains(.hkMacauResident))
        #expect(Set(PolicyBook.alliances.map(\.code)) == ["jjj", "yrd", "chuanyu", "gba"])
        #expect(PolicyBook.alliances.first { $0.code == "gba" }?.regions.contains("810000") == true)
    }
}
