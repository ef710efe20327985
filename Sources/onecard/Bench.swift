import ArgumentParser
import Crypto
import Foundation
import OneCardCore

/// `onecard bench`: inputs for load tests, made with the node's own keys from its data folder, so that a
/// load run presents fresh, valid credentials without asking the node for each one.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make inputs for load tests.", subcommands: [Tokens.self, Challenges.self, Respond.self])

    struct Tokens: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print fresh QR acceptance bodies for a card, one JSON object per line.")
        @Option(name: .customLong("data-dir")) var dataDir: String = "./onecard-data"
        @Option var card: String
        @Option var item: String
        @Option var count: Int = 10_000

        func run() async throws {
            let dir = URL(fileURLWithPath: dataDir).standardizedFileURL
            let keys = try NodeKeys.loadOrCreate(in: dir)
            let ring = try SigningKeyRing.load(from: dir)
            let issuer = QRTokenIssuer(region: ring.region, pseudonyms: PseudonymCipher(keys: keys), lifetime: ring.tokenLifetime)
            let number = try CardNumber(card)
            var out = ""
            for _ in 0..<count {
                let t = issuer.issue(for: number, entitlements: [], key: ring.current)
                out += #"{"itemCode":"\#(item)","credential":{"kind":"qr","token":"\#(t.token)"}}"# + "\n"
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }

    struct Challenges: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print card challenge–response acceptance bodies, one JSON object per line.")
        @Option(name: .customLong("data-dir")) var dataDir: String = "./onecard-data"
        @Option var card: String
        @Option var item: String
        @Option var count: Int = 10_000

        func run() async throws {
            let chip = try Bench.chipKey(dataDir: dataDir, card: card)
            var out = ""
            for _ in 0..<count {
                let challenge = Data(RandomSource.system.bytes(16))
                let response = Data(HMAC<SHA256>.authenticationCode(for: challenge, using: chip))
                out += #"{"itemCode":"\#(item)","credential":{"kind":"card","cardNumber":"\#(card)","challenge":"\#(challenge.base64EncodedString())","response":"\#(response.base64EncodedString())"}}"# + "\n"
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }

    /// What a card's chip answers to one challenge, as a card reader would show it (for tests and demonstrations).
    struct Respond: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a card chip's base64 response to a base64 challenge.")
        @Option(name: .customLong("data-dir")) var dataDir: String = "./onecard-data"
        @Option var card: String
        @Option var challenge: String

        func run() async throws {
            guard let bytes = Data(base64Encoded: challenge) else { throw ValidationError("--challenge: base64") }
            let chip = try Bench.chipKey(dataDir: dataDir, card: card)
            print(Data(HMAC<SHA256>.authenticationCode(for: bytes, using: chip)).base64EncodedString())
        }
    }

    /// The chip key of a card, derived from the node's key material as the node itself derives it.
    static func chipKey(dataDir: String, card: String) throws -> SymmetricKey {
        let keys = try NodeKeys.loadOrCreate(in: URL(fileURLWithPath: dataDir).standardizedFileURL)
        return ChipKeyDeriver(master: keys.chipMaster).key(for: try CardNumber(card))
    }
}
