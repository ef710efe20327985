import Crypto
import Foundation
import OneCardCore
import OneCardStore

/// The demo's medical settlement: the treatment place's catalogue, a medical security user, two residents insured as
/// employees of this region, and one stay settled at the demo's hospital (made through the same services as requests).
enum MedicalDemo {
    static func seed(_ services: AppServices, persons: [Person.ID]) async throws -> [DemoData.Login] {
        let medical = services.medical
        for item in [MedicalCatalogueItem(code: "MED-A-001", name: "阿莫西林胶囊", category: .a),
                     MedicalCatalogueItem(code: "MED-B-001", name: "头孢曲松钠注射剂", category: .b, preselfpayPercent: 10),
                     MedicalCatalogueItem(code: "MED-C-001", name: "进口人工晶体", category: .c),
                     MedicalCatalogueItem(code: "MED-A-101", name: "床位费（三人间）", category: .a, priceCapFen: 5_000)] {
            _ = try await medical.draft(item, by: "system:demo")
        }
        _ = try await medical.publish(by: "system:demo")
        let (name, password) = ("medsec", "medsec-demo-2026")
        _ = try await services.accounts.createStaff(username: name, password: password, role: .department, scope: .medicalSecurity, by: "system:demo")
        let officer = Identity(subject: name, role: .department, personId: nil, scope: .medicalSecurity)
        // Insured where the pack has an employee inpatient preset (Guangdong's are Guangzhou's, Hebei's Shijiazhuang's), else here.
        let region = services.configuration.region
        let insuredRegion = MedicalPolicyBook.shipped.policies.first {
            RegionTable.province(of: $0.regionCode) == RegionTable.province(of: region) && $0.scheme == .employee && $0.care == .inpatient
        }?.regionCode ?? region
        for person in persons.prefix(2) {
            _ = try await medical.putInsured(MedicalInsured(personId: person, scheme: .employee, insuredRegion: insuredRegion, retired: false,
                                                            accountBalanceFen: 100_000), by: officer)
        }
        // One stay at the demo's hospital, paid with the first resident's card (its chip answering a fresh challenge).
        let hospital = try await services.venues.list().first { $0.type == .hospital }
        if let hospital, let person = persons.first, let card = try await services.cards.liveCard(personId: person), card.status == .active {
            let terminal = try await services.venues.createTerminal(venueId: hospital.id, by: "system:demo")
            let challenge = Data(services.random.bytes(16))
            let response = Data(HMAC<SHA256>.authenticationCode(for: challenge, using: services.chipKeys.key(for: card.number)))
            // A pack without a medical policy preset leaves the demo without a settlement, not without a node.
            _ = try? await medical.settle(terminal: Identity(subject: terminal.id.rawValue, role: .terminal, personId: nil, venueId: hospital.id),
                                         idempotencyKey: "demo-1", .init(
                credential: .card(number: card.number.rawValue, challenge: challenge, response: response), care: .inpatient, hospitalLevel: .three,
                emergency: false, lines: [MedicalBillLine(code: "MED-A-001", amountFen: 1_200_000), MedicalBillLine(code: "MED-B-001", amountFen: 600_000),
                                          MedicalBillLine(code: "MED-C-001", amountFen: 200_000)]))
        }
        return [DemoData.Login(role: "department", username: name, password: password)]
    }
}
