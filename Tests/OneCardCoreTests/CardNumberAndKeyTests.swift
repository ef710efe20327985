import Crypto
import Foundation
import Testing
@testable import OneCardCore

@Suite("Card numbers, identification codes, chip keys and field encryption")
struct CardNumberAndKeyTests {
    @Test func cardNumbersAreNineCharacters() throws {
        let n = CardNumber.random(.system)
        #expect(n.rawValue.count == 9)
        #expect(try CardNumber(n.rawValue) == n)
        for bad in ["A1234567", "A123456789", "I12345678", "112345678", "a12345678"] {
            #expect(throws: DomainError.self, "\(bad)") { try CardNumber(bad) }
        }
    }

    @Test func cardHashIsHexSHA256() {
        let n: CardNumber = "A12345678"
        #expect(n.hash == SHA256.hash(data: Data("A12345678".utf8)).map { String(format: "%02x", $0) }.joined())
    }

    @Test func hexMatchesFoundationFormatting() {
        let bytes: [UInt8] = Array(0...255)
        #expect(Hex.encode(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.encode(bytes, uppercase: true) == bytes.map { String(format: "%02X", $0) }.joined())
        #expect(Hex.encode([UInt8]()) == "")
    }

    @Test func uuidsAreVersion4() {
        let fixed = RandomSource { n in Array(repeating: 0xAB, count: n) }
        #expect(fixed.uuid() == "abababab-abab-4bab-abab-abababababab")
        let u = RandomSource.system.uuid()
        #expect(u.count == 36 && UUID(uuidString: u) != nil && u == u.lowercased())
        #expect(RandomSource.system.bytes(13).count == 13)
        // every byte filled, differently each time (64 bytes: a chance of 2^-512 to fail)
        let a = RandomSource.system.bytes(64), b = RandomSource.system.bytes(64)
        #expect(a != b && a.count == 64 && a.contains { $0 != 0 } && Set(a[56...]) != [0])
    }

    @Test func uuid7sCarryTheTimeAndSortByIt() {
        let fixed = RandomSource { n in Array(repeating: 0xFF, count: n) }
        // 2026-01-01T00:00:00Z = 1767225600000 ms = 0x019B76DAA800
        #expect(fixed.uuid7(at: Date(timeIntervalSince1970: 1_767_225_600)) == "019b76da-a800-7fff-bfff-ffffffffffff")
        let earlier = RandomSource.system.uuid7(at: Date(timeIntervalSince1970: 1_767_225_600))
        let later = RandomSource.system.uuid7(at: Date(timeIntervalSince1970: 1_767_225_600.002))
        #expect(earlier < later && UUID(uuidString: later) != nil)
    }

    @Test func identificationCodeLayout() {
        let code = CardIdentificationCode.make(issuerRegion: "440000", random: .system)
        #expect(code.count == 32 && code.hasPrefix("440000D156000005"))
        #expect(CardIdentificationCode.isValid(code))
        #expect(!CardIdentificationCode.isValid("440000D156000006" + String(code.suffix(16))))
    }

    @Test func chipKeysAreDiversifiedPerCardAndPerMaster() throws {
        let a = ChipKeyDeriver(master: SymmetricKey(data: Data(repeating: 1, count: 32)))
        let b = ChipKeyDeriver(master: SymmetricKey(data: Data(repeating: 2, count: 32)))
        let n1: CardNumber = "A12345678", n2: CardNumber = "A12345679"
        #expect(a.base64Key(for: n1) == a.base64Key(for: n1))
        #expect(a.base64Key(for: n1) != a.base64Key(for: n2))
        #expect(a.base64Key(for: n1) != b.base64Key(for: n1))
        // HMAC-SHA256(master, card number), as documented for personalisation.
        let expected = Data(HMAC<SHA256>.authenticationCode(for: Data("A12345678".utf8), using: SymmetricKey(data: Data(repeating: 1, count: 32))))
        #expect(Data(base64Encoded: a.base64Key(for: n1)) == expected)
    }

    @Test func fieldsAreSealedBoundToTheirColumn() throws {
        let cipher = FieldCipher(keys: NodeKeys(master: SymmetricKey(data: Data(repeating: 9, count: 32))))
        let sealed = cipher.seal("王秀梅", field: "name")
        #expect(!sealed.contains("王秀梅"))
        #expect(try cipher.open(sealed, field: "name") == "王秀梅")
        #expect(throws: (any Error).self) { try cipher.open(sealed, field: "phone") }
        #expect(cipher.seal("王秀梅", field: "name") != sealed)  // a fresh nonce each time
        #expect(cipher.blindIndex("11010519491231002x", field: "id_number") == cipher.blindIndex("11010519491231002X", field: "id_number"))
        let other = FieldCipher(keys: NodeKeys(master: SymmetricKey(data: Data(repeating: 8, count: 32))))
        #expect(other.blindIndex("11010519491231002X", field: "id_number") != cipher.blindIndex("11010519491231002X", field: "id_number"))
        // Stored indexes stay valid: the index is the keyed HMAC of "field:VALUE", in lower-case hex, and no change
        // in how it is computed may change it.
        let keys = NodeKeys(master: SymmetricKey(data: Data(repeating: 9, count: 32)))
        let expected = HMAC<SHA256>.authenticationCode(for: Data("id_number:11010519491231002X".utf8), using: keys.blindIndex)
        #expect(cipher.blindIndex("11010519491231002x", field: "id_number") == expected.map { String(format: "%02x", $0) }.joined())
        #expect(cipher.blindIndex("a", field: "f") == cipher.blindIndex("A", field: "f"))  // the copied HMAC state is not reused
        // ASCII is upper-cased byte by byte, anything else by `uppercased()`: the same text either way.
        for value in ["ICBC:6222000011112222", "abc-xyz_{}~@`[", "", "straße", "王秀梅 wang", "ǆ ﬁ ı i", "é\u{301}"] {
            let reference = HMAC<SHA256>.authenticationCode(for: Data("payment_account:\(value.uppercased())".utf8), using: keys.blindIndex)
            #expect(cipher.blindIndex(value, field: "payment_account") == reference.map { String(format: "%02x", $0) }.joined(), "\(value)")
        }
        #expect(Data([0, 0x0f, 0xa5, 0xff]).withUnsafeBytes { Hex.encode($0, uppercase: true) } == "000FA5FF")
        #expect(Data([0, 0x0f, 0xa5, 0xff]).withUnsafeBytes { Hex.encode($0) } == Hex.encode([0, 0x0f, 0xa5, 0xff]))
    }

    @Test func nodeKeysAreCreatedOnceWithMode0600() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try NodeKeys.loadOrCreate(in: dir)
        let second = try NodeKeys.loadOrCreate(in: dir)
        #expect(first.master == second.master)
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("node.key").path)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(first.personalData != first.blindIndex)
    }

    @Test func aNodeKeyKeptApartMustExistAndBeReadableByItsOwnerOnly() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: dir) }
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("secret.key")
        let data = dir.appendingPathComponent("data")
        #expect(throws: KeyFileError.self) { try NodeKeys.loadOrCreate(in: data, file: file) }  // missing: never made on the fly
        let master = Data((0..<32).map { UInt8($0) })
        fm.createFile(atPath: file.path, contents: Data(master.base64EncodedString().utf8), attributes: [.posixPermissions: 0o640])
        do {
            _ = try NodeKeys.loadOrCreate(in: data, file: file)
            Issue.record("a key file group members may read was accepted")
        } catch let e as KeyFileError {
            #expect(e.problem == .readableByOthers(mode: 0o640))
        }
        try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        #expect(try NodeKeys.loadOrCreate(in: data, file: file).master == SymmetricKey(data: master))
        #expect(!fm.fileExists(atPath: data.appendingPathComponent("node.key").path))
        // the data folder's own key is held to the same rule
        let own = try NodeKeys.loadOrCreate(in: data)
        try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: data.appendingPathComponent("node.key").path)
        #expect(throws: KeyFileError.self) { try NodeKeys.loadOrCreate(in: data) }
        _ = own
    }
}

@Suite("Jurisdiction policy packs")
struct PolicyTests {
    @Test func everyShippedPackIsValid() throws {
        let book = PolicyBook.shipped
        #expect(book.policies.count == 10)
        for p in book.policies.values { try p.validate() }
        #expect(Set(book.policies.keys) == ["110000", "120000", "130000", "310000", "320000", "330000", "340000", "500000", "510000", "440000"])
    }

    @Test func aCityUsesItsProvincePack() {
        #expect(PolicyBook.shipped.policy(for: "440300").regionCode == "440000")
        #expect(PolicyBook.shipped.policy(for: "440300").temporaryLossLapseDays == 15)
        #expect(PolicyBook.shipped.policy(for: "620000").temporaryLossLapseDays == 5)  // no pack: national default
    }

    @Test func outOfRangeValuesAreRefused() {
        var p = PolicyBook.shipped.policy(for: "110000")
        p.temporaryLossLapseDays = 16
        #expect(throws: DomainError.self) { try p.validate() }
    }
}
