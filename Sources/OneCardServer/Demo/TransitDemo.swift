import Foundation
import OneCardCore

/// The demo's transit operators: the fare presets of the node's province (`Resources/Transit/fare-presets.json`), with
/// stations so that gates can tap (approximate kilometre posts along one line, for the demo only, not surveyed), each
/// paid to a settlement account at the demo's first bank.
enum TransitDemo {
    /// Demo stations per preset operator: station code → kilometre post.
    static let stations: [String: [String: Double]] = [
        // Beijing Line 1 and Batong line, 苹果园 → 四惠东 (approximate).
        "BJ-METRO": ["苹果园": 0, "古城": 2.6, "八角游乐园": 4.0, "八宝山": 5.9, "玉泉路": 7.4, "五棵松": 9.1, "万寿路": 10.4, "公主坟": 11.7,
                     "军事博物馆": 13.0, "木樨地": 14.6, "南礼士路": 16.0, "复兴门": 17.4, "西单": 19.0, "天安门西": 19.9, "天安门东": 20.8,
                     "王府井": 21.6, "东单": 22.4, "建国门": 23.8, "永安里": 24.9, "国贸": 25.7, "大望路": 27.2, "四惠": 29.0, "四惠东": 30.4,
                     "通州北苑": 40.1, "土桥": 49.5],
        // A bus route's stops (approximate).
        "BJ-BUS": ["北京站": 0, "东单路口": 2.1, "天安门东": 4.0, "西单路口": 6.2, "复兴门": 8.0, "公主坟": 13.5, "五棵松": 16.0, "苹果园": 24.0],
        // Shanghai Line 2 (approximate).
        "SH-METRO": ["徐泾东": 0, "虹桥火车站": 2.5, "虹桥2号航站楼": 3.3, "淞虹路": 7.9, "娄山关路": 13.0, "静安寺": 17.2, "南京西路": 18.8,
                     "人民广场": 20.0, "南京东路": 21.1, "陆家嘴": 22.7, "世纪大道": 25.1, "张江高科": 31.5, "浦东国际机场": 64.0],
    ]

    /// The demo settlement account of an operator: "6222" and 15 digits from its code (kept below 10^15, so the sum never overflows). (Formatted without `%d`, which
    /// takes a 32-bit value on Linux and printed a minus sign for SH-METRO, SH-BUS and TJ-BUS, so their demo failed.)
    static func accountNumber(_ code: String) -> String {
        let digits = String(code.utf8.reduce(0) { ($0 * 31 + Int($1)) % 1_000_000_000_000_000 })
        return "6222" + String(repeating: "0", count: max(0, 15 - digits.count)) + digits
    }

    /// Registers the presets of the node's province, if the demo bank exists.
    static func seed(_ services: AppServices, bankCode: String) async throws {
        let province = RegionTable.province(of: services.configuration.region)
        for preset in TransitPresets.fares where RegionTable.province(of: preset.regionCode) == province {
            var table = preset.fareTable
            if let s = stations[preset.operatorCode] { table.stations = s }
            let account = accountNumber(preset.operatorCode)
            _ = try await services.transit.createOperator(.init(
                code: preset.operatorCode, name: preset.name, regionCode: preset.regionCode, mode: preset.mode.rawValue,
                account: .init(bankCode: bankCode, accountNumber: account), fareTable: .init(table)), by: "system:demo")
        }
    }
}
