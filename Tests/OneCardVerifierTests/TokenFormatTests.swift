import Crypto
import Foundation
import JWTKit
import OneCardCore
import Testing
@testable import OneCardVerifier

@Suite("QR token format")
struct TokenFormatTests {
    @Test func issuedTokenHasTheExactHeaderAndClaims() throws {
        // setup
        let node = Node()
        // action
        let issued = node.issue(entitlements: ["elderly", "disability"])
        // validate
        let parts = segments(issued.token)
        #expect(parts.count == 3)
        #expect(!issued.token.contains("="))
        let header = try #require(Base64URL.decode(parts[0]))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"EdDSA","kid":"\#(node.ring.current.kid)","typ":"onecard-qr+jwt"}"#)
        let payload = try #require(Base64URL.decode(parts[1]))
        let claims = try JSONDecoder().decode(QRClaims.self, from: Data(payload))
        #expect(claims == issued.claims)
        #expect(claims.iss == "110000")
        #expect(claims.iat == Int64(t0.timeIntervalSince1970))
        #expect(claims.exp == claims.iat + 60)
        #expect(issued.expiresAt == t0 + 60)
        #expect(claims.ent == ["elderly", "disability"])
        #expect(Base64URL.decode(claims.jti)?.count == 16)
        #expect(!claims.sub.contains("12345678"))
        #expect(Base64URL.decode(parts[2])?.count == 64)
    }

    @Test func aTokenIssuedUnderRFC9864sNameVerifiesLikeOneUnderEdDSA() throws {
        // setup: a node switched to `--qr-alg Ed25519`
        let node = Node()
        let issuer = QRTokenIssuer(region: "110000", pseudonyms: node.pseudonyms, clock: node.clock.clock, algorithm: .ed25519)
        // action
        let issued = issuer.issue(for: .sample, entitlements: [], key: node.ring.current)
        // validate: the header names Ed25519, and a verifier accepts it as it accepts EdDSA; any other alg is refused
        let header = try #require(Base64URL.decode(segments(issued.token)[0]))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"Ed25519","kid":"\#(node.ring.current.kid)","typ":"onecard-qr+jwt"}"#)
        #expect(node.verifier().verify(issued.token, at: t0).isValid)
        #expect(node.verifier().verify(node.issue().token, at: t0).isValid)
        let other = forge(header: #"{"alg":"ES256","kid":"\#(node.ring.current.kid)","typ":"onecard-qr+jwt"}"#, payload: claimsJSON(), key: node.ring.current)
        #expect(node.verifier().verify(other, at: t0) == .denied(.tokenInvalid))
    }

    @Test func kidIsBase64urlOfTheFirstEightBytesOfTheKeyHash() {
        let node = Node()
        let key = node.ring.current
        let expected = Base64URL.encode(Array(SHA256.hash(data: key.publicKey.rawRepresentation).prefix(8)))
        #expect(key.kid == expected)
        #expect(key.kid.count == 11)
    }

    @Test func jtiIsFreshOnEveryToken() {
        let node = Node()
        let jtis = Set((0..<50).map { _ in node.issue().claims.jti })
        #expect(jtis.count == 50)
    }

    @Test func jwtKitVerifiesAnIssuedTokenWithTheJWKS() async throws {
        // setup: JWTKit knows nothing of OneCard but the published JWKS
        struct Payload: JWTPayload {
            var iss: IssuerClaim, sub: SubjectClaim, iat: IssuedAtClaim, exp: ExpirationClaim, jti: IDClaim, ent: [String]
            func verify(using algorithm: some JWTAlgorithm) throws {}
        }
        let node = Node()
        let issued = node.issue()
        let jwks = String(decoding: node.ring.jwks(at: t0).json(), as: UTF8.self)
        let keys = JWTKeyCollection()
        try await keys.add(jwksJSON: jwks)
        // action
        let payload = try await keys.verify(issued.token, as: Payload.self)
        // validate
        #expect(payload.sub.value == issued.claims.sub)
        #expect(payload.jti.value == issued.claims.jti)
        #expect(payload.iss.value == "110000")
        #expect(payload.ent == ["elderly"])
        #expect(Int64(payload.exp.value.timeIntervalSince1970) == issued.claims.exp)

        // and JWTKit refuses the same token with one payload character changed
        let tampered = replacingCharacter(of: issued.token, at: segments(issued.token)[0].count + 5)
        await #expect(throws: (any Error).self) { try await keys.verify(tampered, as: Payload.self) }
    }

    @Test func base64urlRoundTripsAndRefusesNonCanonicalText() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(text == Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.decode("AB") == nil)   // trailing bits set: not the canonical "AA"
        #expect(Base64URL.decode("AA") == [0])
        #expect(Base64URL.decode("A") == nil)
        #expect(Base64URL.decode("AA==") == nil)
        #expect(Base64URL.decode("a+b/") == nil)
    }
}

@Suite("Pseudonyms")
struct PseudonymTests {
    @Test func twoTokensForOneCardHaveUnrelatedSubjects() throws {
        // setup
        let node = Node()
        // action
        let a = node.issue(), b = node.issue()
        // validate: different, and not even sharing a prefix that could link them
        #expect(a.claims.sub != b.claims.sub)
        #expect(a.claims.sub.prefix(4) != b.claims.sub.prefix(4))
        #expect(a.claims.sub.count == 22)
        #expect(try node.pseudonyms.open(a.claims.sub, jti: a.claims.jti) == .sample)
        #expect(try node.pseudonyms.open(b.claims.sub, jti: b.claims.jti) == .sample)
        #expect(try node.issuer.card(of: a.claims) == .sample)
    }

    @Test func aSubjectOpensOnlyWithItsOwnJTIAndKey() {
        let node = Node()
        let other = Node(seed: "another node")
        let a = node.issue(), b = node.issue(.other)
        #expect(throws: PseudonymCipher.Failure.notOurs) { try node.pseudonyms.open(a.claims.sub, jti: b.claims.jti) }
        #expect(throws: PseudonymCipher.Failure.notOurs) { try other.pseudonyms.open(a.claims.sub, jti: a.claims.jti) }
        #expect(throws: PseudonymCipher.Failure.malformed) { try node.pseudonyms.open("!!", jti: a.claims.jti) }
        // the check bytes at the end catch a changed pseudonym (its integrity on a token is the signature's)
        #expect(throws: PseudonymCipher.Failure.notOurs) { try node.pseudonyms.open(replacingCharacter(of: a.claims.sub, at: 20), jti: a.claims.jti) }
        #expect((try? node.pseudonyms.open(b.claims.sub, jti: b.claims.jti)) == .other)
    }

    @Test func nodeKeysGiveTheSamePseudonymKeyAfterARestart() throws {
        let master = SymmetricKey(data: [UInt8](repeating: 7, count: 32))
        let sub = PseudonymCipher(keys: NodeKeys(master: master)).seal(.sample, jti: "jti-1")
        #expect(try PseudonymCipher(keys: NodeKeys(master: master)).open(sub, jti: "jti-1") == .sample)
    }
}

@Suite("Randomness")
struct RandomnessTests {
    @Test func bufferedSystemRandomGivesFreshBytesOfTheAskedLength() {
        let source = RandomSource.systemBuffered
        let draws = (0..<600).map { _ in source.bytes(16) }   // 9600 bytes: the 4 KiB buffer refills twice
        #expect(draws.allSatisfy { $0.count == 16 })
        #expect(Set(draws).count == 600)
        #expect(source.bytes(0).isEmpty)
        #expect(source.bytes(5000).count == 5000)             // larger than the buffer: straight from the system
        let ones = draws.joined().reduce(0) { $0 + $1.nonzeroBitCount }
        #expect((37_400...39_400).contains(ones))            // about half of 76 800 bits (σ ≈ 140)
    }
}

@Suite("Entitlements")
struct EntitlementTests {
    let birth = CalendarDay(year: 1965, month: 3, day: 15)!

    @Test func elderlyFromTheSixtiethBirthday() {
        #expect(Entitlement.codes(birthDate: birth, at: noon(CalendarDay(year: 2025, month: 3, day: 14)!)) == [])
        #expect(Entitlement.codes(birthDate: birth, at: noon(CalendarDay(year: 2025, month: 3, day: 15)!)) == ["elderly"])
        #expect(Entitlement.codes(birthDate: birth, at: noon(CalendarDay(year: 2030, month: 3, day: 14)!)) == ["elderly"])
        // The age tiers 65 and 70 (API.md "Entitlements and records"), each from its birthday
        #expect(Entitlement.codes(birthDate: birth, at: noon(CalendarDay(year: 2030, month: 3, day: 15)!)) == ["elderly", "elderly_65"])
        #expect(Entitlement.codes(birthDate: birth, at: noon(CalendarDay(year: 2035, month: 3, day: 14)!)) == ["elderly", "elderly_65"])
        #expect(Entitlement.codes(birthDate: birth, at: noon(CalendarDay(year: 2040, month: 1, day: 1)!)) == ["elderly", "elderly_65", "elderly_70"])
    }

    @Test func aRegionsTiersAreData() {
        // A pack without tiers of its own has the national ones; one that names a tier moves it.
        var policy = PolicyBook.shipped.policy(for: "110000")
        #expect(policy.ageTiers.map(\.code) == ["elderly", "elderly_65", "elderly_70"])
        policy.entitlements.append(.init(code: "elderly_70", minAge: 75, basis: "test"))
        let tiers = policy.ageTiers
        #expect(tiers.first { $0.code == "elderly_70" }?.minAge == 75)
        #expect(Entitlement.codes(birthDate: birth, at: noon(CalendarDay(year: 2036, month: 1, day: 1)!), tiers: tiers) == ["elderly", "elderly_65"])
    }

    @Test func bornOnTwentyNinthFebruaryTurnsSixtyOnFirstMarch() {
        let leap = CalendarDay(year: 1964, month: 2, day: 29)!
        #expect(Entitlement.codes(birthDate: leap, at: noon(CalendarDay(year: 2024, month: 2, day: 28)!)) == [])
        #expect(Entitlement.codes(birthDate: leap, at: noon(CalendarDay(year: 2024, month: 2, day: 29)!)) == ["elderly"])
        let late = CalendarDay(year: 1965, month: 2, day: 29)  // no such day
        #expect(late == nil)
        let leap63 = CalendarDay(year: 1963, month: 3, day: 1)!
        #expect(Entitlement.codes(birthDate: leap63, at: noon(CalendarDay(year: 2023, month: 2, day: 28)!)) == [])
    }

    /// The code a check refused with, nil when it passed.
    func refusal(_ body: () throws -> Void) -> DomainError.Code? {
        do { try body(); return nil } catch { return (error as? DomainError)?.code }
    }

    /// Noon in Beijing on `day`.
    func noon(_ day: CalendarDay) -> Date { Date(timeIntervalSince1970: Double(day.daysSinceEpoch * 86_400 + 4 * 3600)) }

    func certificate(_ type: Certificate.Kind, category: Int? = nil, grade: Int? = nil, from: CalendarDay = CalendarDay(year: 2025, month: 1, day: 1)!,
                     to: CalendarDay? = nil, revokedAt: Date? = nil) -> Certificate {
        Certificate(id: "c", personId: "p", type: type, number: nil, category: category, grade: grade, validFrom: from, validTo: to,
                    loadedBy: "d", loadedAt: Date(timeIntervalSince1970: 0), revokedAt: revokedAt)
    }

    @Test func certificatesThenExtraCodesFollowWithoutDuplicates() {
        let today = noon(CalendarDay(year: 2025, month: 6, day: 1)!)
        let held = [certificate(.disability, category: 4, grade: 3), certificate(.elderly), certificate(.veteran)]
        #expect(Entitlement.codes(birthDate: birth, at: today, certificates: held) == ["elderly", "disability", "veteran"])
        #expect(Entitlement.codes(birthDate: CalendarDay(year: 2000, month: 1, day: 1)!, at: today, certificates: held, extra: ["pass:park_annual", "veteran"])
                == ["disability", "elderly", "veteran", "pass:park_annual"])
        #expect(Entitlement.codes(birthDate: nil, at: today, extra: ["pass:park_annual"]) == ["pass:park_annual"])
    }

    @Test func aDisabilityCertificateGrantsSeverityAndTheVisualCategoryOnly() {
        let today = noon(CalendarDay(year: 2025, month: 6, day: 1)!)
        let young = CalendarDay(year: 2000, month: 1, day: 1)!
        #expect(Entitlement.codes(birthDate: young, at: today, certificates: [certificate(.disability, category: 4, grade: 2)]) == ["disability", "disability_severe"])
        #expect(Entitlement.codes(birthDate: young, at: today, certificates: [certificate(.disability, category: 1, grade: 4)]) == ["disability", "disability_visual"])
        #expect(Entitlement.codes(birthDate: young, at: today, certificates: [certificate(.disability, category: 2, grade: 3)]) == ["disability"])
    }

    @Test func aCertificateCountsOnlyWhileValidAndUntilRevoked() {
        let young = CalendarDay(year: 2000, month: 1, day: 1)!
        let c = certificate(.veteran, from: CalendarDay(year: 2025, month: 3, day: 1)!, to: CalendarDay(year: 2025, month: 3, day: 31)!)
        #expect(Entitlement.codes(birthDate: young, at: noon(CalendarDay(year: 2025, month: 2, day: 28)!), certificates: [c]) == [])  // not yet valid
        #expect(Entitlement.codes(birthDate: young, at: noon(CalendarDay(year: 2025, month: 3, day: 1)!), certificates: [c]) == ["veteran"])
        #expect(Entitlement.codes(birthDate: young, at: noon(CalendarDay(year: 2025, month: 3, day: 31)!), certificates: [c]) == ["veteran"])
        #expect(Entitlement.codes(birthDate: young, at: noon(CalendarDay(year: 2025, month: 4, day: 1)!), certificates: [c]) == [])  // expired
        let revoked = certificate(.veteran, revokedAt: noon(CalendarDay(year: 2025, month: 6, day: 1)!))
        #expect(Entitlement.codes(birthDate: young, at: noon(CalendarDay(year: 2025, month: 6, day: 1)!).addingTimeInterval(-1), certificates: [revoked]) == ["veteran"])
        #expect(Entitlement.codes(birthDate: young, at: noon(CalendarDay(year: 2025, month: 6, day: 1)!), certificates: [revoked]) == [])
    }

    @Test func aDisabilityNumberIsTheIdNumberCategoryAndGrade() throws {
        let id = "11010519491231002X"
        let from = CalendarDay(year: 2025, month: 1, day: 1)!
        try Certificate.check(type: .disability, number: id + "42", category: 4, grade: 2, validFrom: from, validTo: nil, idNumber: id)
        try Certificate.check(type: .disability, number: id.lowercased() + "42b1", category: 4, grade: 2, validFrom: from, validTo: nil, idNumber: id)
        for (number, category, grade) in [(id + "43", 4, 2), (id + "32", 4, 2), ("110105194912310011" + "42", 4, 2), (id + "42C1", 4, 2), (id + "4", 4, 2)] {
            #expect(refusal { try Certificate.check(type: .disability, number: number, category: category, grade: grade, validFrom: from, validTo: nil, idNumber: id) } == .certificateNumberMismatch)
        }
        #expect(refusal { try Certificate.check(type: .disability, number: nil, category: 8, grade: 2, validFrom: from, validTo: nil, idNumber: id) } == .certificateDetailsInvalid)
        #expect(refusal { try Certificate.check(type: .veteran, number: nil, category: 1, grade: nil, validFrom: from, validTo: nil, idNumber: id) } == .certificateDetailsInvalid)
        #expect(refusal { try Certificate.check(type: .veteran, number: nil, category: nil, grade: nil, validFrom: from, validTo: CalendarDay(year: 2024, month: 12, day: 31)!, idNumber: id) } == .certificateValidityInvalid)
    }
}
