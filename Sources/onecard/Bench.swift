import ArgumentParser
import Crypto
import Foundation
import Logging
import OneCardCore
import OneCardServer

/// `onecard bench`: inputs for load tests, made with the node's own keys from its data folder, so that a
/// load run presents fresh, valid credentials without asking the node for each one.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make inputs for load tests.", subcommands: [Tokens.self, Challenges.self, Respond.self, Populate.self, Residents.self, BenchRevocations.self])

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

    /// A province's register for scale measurements: N synthetic residents with active cards, written in bulk as production
    /// would store them (see `PopulateService`). Needs a migrated database; re-running adds more.
    struct Populate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add N synthetic residents with active cards (valid ID numbers, sealed as in production) to a migrated database.")
        @Option(help: "Residents to add.") var persons: Int
        @Option(help: "Residents per transaction.") var batch: Int = 10_000
        @Option(help: "The node's issuing region (as given to `serve`): residents live in its counties, cards are issued there.")
        var region: String = "110000"
        @OptionGroup var data: DataOptions

        func run() async throws {
            guard persons > 0, batch > 0 else { throw ValidationError("--persons and --batch must be positive") }
            var logger = Logger(label: "onecard-populate")
            logger.logLevel = .warning
            do {
                let services = try await OneCardApp.services(try data.configuration(region: region), signs: false, logger: logger)
                let started = ContinuousClock.now
                let step = max(batch, persons / 20)
                let report = try await services.populate.populate(persons: persons, batch: batch) { total in
                    if total % step < batch || total == persons {
                        let s = Double((ContinuousClock.now - started).components.seconds) + 1e-9
                        say("populate: \(total) added, \(Int(Double(total) / max(s, 1e-9))) per second")
                    }
                }
                let d = ContinuousClock.now - started
                let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                say("populate: added \(report.added) residents with cards (skipped \(report.skipped) taken), synthetic \(report.first)..<\(report.next), "
                    + "\(String(format: "%.1f", seconds)) s, \(Int(Double(report.added) / max(seconds, 1e-9))) per second")
                await services.store.close()
            } catch let e as ConfigurationError {
                throw fail(e.description)
            }
        }
    }

    /// Who `populate` made: the synthetic residents `from..<from+count` of a region, one JSON object per line (for load
    /// scripts that sign residents up, look them up and present their cards).
    struct Residents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print synthetic residents (as `bench populate` makes them), one JSON object per line.")
        @Option(help: "The first synthetic resident's number.") var from: Int = 0
        @Option var count: Int = 10
        @Option(help: "Take every n-th resident from `from` on.") var every: Int = 1
        @Option(help: "The node's issuing region, as given to `populate`.") var region: String = "110000"

        func run() async throws {
            guard from >= 0, count >= 0, every > 0 else { throw ValidationError("--from, --count and --every must be positive") }
            let residents = SyntheticResidents(province: RegionTable.province(of: region))
            var out = ""
            for i in 0..<count {
                let k = from + i * every
                guard k < residents.capacity else { break }
                let r = residents.resident(k)
                let fields = [("k", "\(k)"), ("idNumber", #""\#(r.idNumber)""#), ("name", #""\#(r.name)""#), ("phone", #""\#(r.phone)""#),
                              ("cardNumber", #""\#(r.cardNumber.rawValue)""#)]
                out += "{" + fields.map { #""\#($0.0)":\#($0.1)"# }.joined(separator: ",") + "}\n"
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        }
    }

    /// The chip key of a card, derived from the node's key material as the node itself derives it.
    static func chipKey(dataDir: String, card: String) throws -> SymmetricKey {
        let keys = try NodeKeys.loadOrCreate(in: URL(fileURLWithPath: dataDir).standardizedFileURL)
        return ChipKeyDeriver(master: keys.chipMaster).key(for: try CardNumber(card))
    }
}
