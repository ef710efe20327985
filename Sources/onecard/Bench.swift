import ArgumentParser
import Crypto
import Foundation
import OneCardCore

/// `onecard bench`: inputs for load tests, made with the node's own keys from its data folder, so that a
/// load run presents fresh, valid credentials without asking the node for each one.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make inputs for load tests.", subcommands: [Tokens.self, Challenges.self, Respond.self])

    /// What both kinds of acceptance bodies are made from.
    struct BodyOptions: ParsableArguments {
        @Option(name: .customLong("data-dir")) var dataDir: String = "./onecard-data"
        @Option var card: String
        @Option var item: String
        @Option var count: Int = 10_000

        /// Writes `count` bodies, one JSON object per line, for the credential `credential()` makes each time.
        func write(_ credential: () -> String) {
            var out = ""
            for _ in 0..<count { out += #"{"itemCode":"\#(item)","credential":\#(credential())}"# + "\n" }
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }

    struct Tokens: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print fresh QR acceptance bodies for a card, one JSON object per line.")
        @OptionGroup var options: BodyOptions

        func run() async throws {
            let dir = URL(fileURLWithPath: options.dataDir).standardizedFileURL
            let keys = try NodeKeys.loadOrCreate(in: dir)
            let ring = try SigningKeyRing.load(from: dir)
            let issuer = QRTokenIssuer(region: ring.region, pseudonyms: PseudonymCipher(keys: keys), lifetime: ring.tokenLifetime)
            let number = try CardNumber(options.card)
            options.write { #"{"kind":"qr","token":"\#(issuer.issue(for: number, entitlements: [], key: ring.current).token)"}"# }
        }
    }

    struct Challenges: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print card challenge–response acceptance bodies, one JSON object per line.")
        @OptionGroup var options: BodyOptions

        func run() async throws {
            let chip = try Bench.chipKey(dataDir: options.dataDir, card: options.card)
            options.write {
                let challenge = Data(RandomSource.system.bytes(16))
                let response = Data(HMAC<SHA256>.authenticationCode(for: challenge, using: chip))
                return #"{"kind":"card","cardNumber":"\#(options.card)","challenge":"\#(challenge.base64EncodedString())","response":"\#(response.base64EncodedString())"}"#
            }
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
