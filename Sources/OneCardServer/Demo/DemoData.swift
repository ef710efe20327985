import Foundation
import OneCardCore
import OneCardStore

/// A believable demo for an empty database: outlets, banks, staff and a few residents with cards in
/// different states, all made through the same services as real requests.
public enum DemoData {
    public struct Login: Sendable, CustomStringConvertible {
        public let role: String, username: String, password: String
        /// The role padded to the longest role's width ("department"), never cut short.
        public var description: String { "\(role.padding(toLength: max(10, role.count), withPad: " ", startingAt: 0)) \(username)  /  \(password)" }
    }

    /// Fills the database if it holds no users and no persons; returns the logins it made (empty if it did nothing).
    public static func seedIfEmpty(_ services: AppServices) async throws -> [Login] {
        let empty = try await services.store.read { s in
            let users = try await s.users.count()
            let persons = try await s.persons.count()
            return users == 0 && persons == 0
        }
        guard empty else { return [] }
        let region = services.configuration.region
        let counties = RegionTable.shared.currentCounties(of: region)
        let county = { (i: Int) -> String in counties.isEmpty ? region : counties[min(i, counties.count - 1)].code }
        let province = services.policy.name
        var logins: [Login] = []
        let accounts = services.accounts
        let staff: [(Role, String, String)] = [
            (.admin, "admin", "admin-demo-2026"), (.agent, "agent", "agent-demo-2026"), (.auditor, "auditor", "auditor-demo-2026"),
            (.department, "department", "department-demo-2026"), (.bank, "bank", "bank-demo-2026"),
            // A second department user: a batch one uploads is approved by the other (four eyes).
            (.department, "department2", "department2-demo-2026"),
        ]
        for (role, name, password) in staff {
            _ = try await accounts.createStaff(username: name, password: password, role: role, by: "system:demo")
            logins.append(Login(role: role.rawValue, username: name, password: password))
        }

        let registry = services.registry
        let main = try await registry.createOutlet(Outlet(
            id: "", name: "\(province)社会保障卡服务中心", regionCode: county(0), address: "\(RegionTable.shared.entry(county(0))?.name ?? "")人民路 1 号",
            services: ["apply", "pickup", "activate", "report_loss", "unlock", "replace", "cancel", "consult"],
            hours: "周一至周五 09:00–17:00，周六 09:00–12:00", accessibility: ["无障碍通道", "轮椅", "老年人优先窗口", "手语服务"]))
        let branch = try await registry.createOutlet(Outlet(
            id: "", name: "\(RegionTable.shared.entry(county(1))?.name ?? province)人社服务站", regionCode: county(1),
            address: "\(RegionTable.shared.entry(county(1))?.name ?? "")建设街 18 号", services: ["apply", "pickup", "activate", "report_loss", "consult"],
            hours: "周一至周五 08:30–17:30", accessibility: ["无障碍通道", "助听设备"]))
        _ = try await registry.createOutlet(Outlet(
            id: "", name: "工商银行社保卡合作网点", regionCode: county(2), address: "\(RegionTable.shared.entry(county(2))?.name ?? "")金融街 6 号",
            services: ["apply", "pickup", "activate", "report_loss", "unlock"], hours: "每日 09:00–17:00", accessibility: ["无障碍通道"]))
        let today = services.today
        for (code, name) in [("ICBC", "中国工商银行"), ("CCB", "中国建设银行")] {
            _ = try await registry.createBank(Bank(code: code, name: name, agreementFrom: CalendarDay(year: today.year - 1, month: 1, day: 1)!,
                                                   agreementTo: CalendarDay(year: today.year + 4, month: 12, day: 31)!, endpoint: nil, status: .active))
        }

        let cards = services.cards
        let agent = Actor(name: "agent:agent", channel: "counter")
        // (name, birth date, sequence, phone, how far the card gets)
        let residents: [(String, String, String, String, Int)] = [
            ("王秀梅", "19520314", "102", "13800001001", 3),  // elderly, active card
            ("李建国", "19850722", "031", "13800001002", 3),  // active card
            ("张晓燕", "19930105", "046", "13800001003", 2),  // issued, not yet activated
            ("陈志强", "20010918", "017", "13800001004", 1),  // application submitted
        ]
        var persons: [Person.ID] = []
        for (i, r) in residents.enumerated() {
            let number = idNumber(region: county(i % max(1, min(3, counties.count))), birth: r.1, sequence: r.2)
            let person = try await registry.registerPerson(idType: .resident, idNumber: number, name: r.0, phone: r.3,
                                                           address: "\(province)\(RegionTable.shared.entry(county(0))?.name ?? "")幸福里 \(i + 1) 号",
                                                           actor: "system:demo")
            persons.append(person.id)
            let password = "holder-demo-\(i + 1)"
            _ = try await accounts.signUpHolder(idType: .resident, idNumber: number, name: r.0, phone: r.3, password: password)
            logins.append(Login(role: "holder", username: number, password: password))
            var app = try await cards.submit(.init(personId: person.id, channel: .counter, applyOutletId: main.id, pickupOutletId: branch.id,
                                                   bankCode: i % 2 == 0 ? "ICBC" : "CCB", delivery: .pickup), actor: agent)
            // A federated node whose hub answered late: the claim waits in the outbox; deliver it now (for up to a minute)
            // so the demo's cards are issued checked, as any card is.
            let deadline = ContinuousClock.now + .seconds(60)
            while app.status == .pendingNationalCheck, ContinuousClock.now < deadline {
                try? await services.federation.deliverOutbox(ignoringBackOff: true)
                app = try await cards.application(app.id)
                if app.status == .pendingNationalCheck { try await Task.sleep(for: .milliseconds(500)) }
            }
            guard r.4 >= 2 else { continue }
            for step in [ApplicationStep.approve, .produce, .ready, .collect] { _ = try await cards.step(app.id, step, reason: nil, actor: agent) }
            guard r.4 >= 3, let cardNumber = try await cards.applications(personId: person.id).first?.cardNumber else { continue }
            _ = try await cards.transition(cardNumber, .activate, pin: try PIN("123456"), actor: agent)
        }
        // The jurisdiction pack's catalogue, published as version 1, and believable venues with a terminal each.
        try await services.catalogue.seedIfEmpty(by: "system:demo")
        let venues = services.venues
        for v in services.policy.demoVenues {
            let venue = try await venues.create(.init(name: v.name, operatorUscc: v.operatorUscc, type: v.type, regionCode: v.regionCode,
                                                      address: v.address, accessibility: v.accessibility, unifiedLogo: v.unifiedLogo,
                                                      itemCodes: v.itemCodes), by: "system:demo")
            let terminal = try await venues.createTerminal(venueId: venue.id, by: "system:demo")
            logins.append(Login(role: "terminal", username: venue.name, password: terminal.apiKey))
        }
        // Service (issue 16): a worklist that is not empty: a 12345 complaint waiting, a 12333 consultation answered.
        _ = try await services.complaints.lodge(.init(kind: .complaint, topic: .cardRefused, channel: .hotline12345,
                                                      summary: "来电反映某博物馆不接受电子社保卡入馆"), personId: nil, actor: "agent:agent")
        let consultation = try await services.complaints.lodge(.init(kind: .consultation, topic: .card, channel: .hotline12333,
                                                                     summary: "来电咨询异地如何补办社保卡"), personId: nil, actor: "agent:agent")
        _ = try await services.complaints.step(consultation.id, .answer("可在任一网点或网上申请补卡，原金融账户保留。"), actor: "agent:agent",
                                               role: .agent, personId: nil)
        logins += try await MedicalDemo.seed(services, persons: persons)
        try await TransitDemo.seed(services, bankCode: "ICBC")
        return logins
    }

    /// A valid resident ID number for a region, birth date and sequence (check character computed).
    public static func idNumber(region: String, birth: String, sequence: String) -> String {
        let first17 = region + birth + sequence
        return first17 + String(IdentityNumber.checkCharacter(for: Array(first17))!)
    }
}
