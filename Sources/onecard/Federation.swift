import ArgumentParser
import Foundation
import Logging
import OneCardCore
import OneCardServer
import OneCardStore

/// `onecard hub`: the national hub, and the administration of its members.
struct Hub: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the national hub (the federation's trust anchor), or manage its members.",
        subcommands: [Run.self, Members.self, Messages.self], defaultSubcommand: Run.self)

    struct HubData: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Folder for the hub's key and its default SQLite file.") var dataDir: String = "./onecard-hub"
        @Option(help: "sqlite:PATH or postgres://… Default: sqlite:<data-dir>/hub.sqlite") var database: String?
        @Option(name: .customLong("db-pool"), help: "PostgreSQL connections the hub may hold (also ONECARD_DB_POOL; default 16).") var dbPool: Int?

        var dataDirURL: URL { URL(fileURLWithPath: dataDir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL }

        func configuration(host: String = "127.0.0.1", port: Int = 8090) throws -> HubConfiguration {
            let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            var config = try HubConfiguration(host: host, port: port, database: HubConfiguration.databaseURL(option: database, dataDir: dataDirURL),
                                              dataDir: dataDirURL, logLevel: level)
            config.strictContract = try ServerConfiguration.strictContract(environment: ProcessInfo.processInfo.environment)
            config.databasePool = try ServerConfiguration.databasePool(option: dbPool, environment: ProcessInfo.processInfo.environment)
            return config
        }

        /// Opens the hub's store, migrating an embedded one (a PostgreSQL one must be migrated by `onecard migrate`).
        func open() async throws -> HubServices {
            let services = try await HubServices.open(try configuration())
            try await services.store.migrate()
            return services
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the hub's HTTP API (/federation/v1).")
        @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
        @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 8090
        @OptionGroup var data: HubData

        func run() async throws {
            let services: HubServices
            let lock: ServeLock?
            do {
                let config = try data.configuration(host: host, port: port)
                // A SQLite file serves one process; a second hub on it stops here, naming the file.
                lock = try ServeLock.acquire(for: config.database)
                services = try await HubServices.open(config)
                try await services.store.migrate()
                try await services.seedAlliances()
            } catch let e as ConfigurationError {
                throw fail(e.description)
            }
            say("onecard hub \(OneCardApp.version) — key \(services.key.kid), database \(services.configuration.database)")
            try await services.serve { port in say("onecard hub listening on http://\(services.configuration.host):\(port)") }
            withExtendedLifetime(lock) {}
        }
    }

    struct Messages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the evidence the hub keeps of every signed exchange (newest first, one JSON object per line), for an auditor.")
        @Option(help: "Only messages with this member region.") var peer: String?
        @Option(help: "At most this many.") var limit: Int = 100
        @OptionGroup var data: HubData

        func run() async throws {
            do {
                let services = try await data.open()
                for line in try await services.evidenceLines(peer: peer, limit: max(1, min(limit, 10_000))) { say(line) }
                await services.store.close()
            } catch let e as ConfigurationError {
                throw fail(e.description)
            }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Admit, list and suspend the hub's members.",
                                                        subcommands: [Add.self, List.self, Suspend.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Admit a provincial node (or, with --partner, a cross-border partner that verifies but issues nothing); a running hub sees it at once.")
            @Option(help: "The member's region, a province-level code such as 110000 (810000, 820000 for partners).") var region: String
            @Option(help: "The member's base URL, e.g. http://127.0.0.1:8081.") var url: String
            @Option(help: "The member's federation public key: a JWK, the output of `onecard keys show`, or @FILE holding either.") var key: String
            @Flag(help: "A cross-border partner (GD art. 4): verifies cards and QR codes and reports uses; issues no cards.") var partner = false
            @OptionGroup var data: HubData

            func run() async throws {
                do {
                    let jwk = try FederationPublicKey.parse(key)
                    let services = try await data.open()
                    defer { Task { await services.store.close() } }
                    say("admitted " + (try await services.admit(region: region, url: url, key: jwk, partner: partner)))
                } catch let e as ConfigurationError {
                    throw fail(e.description)
                } catch let e as DomainError {
                    throw fail("\(e.code): \(e.detail)")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the members: region, kind, status, URL, key id.")
            @OptionGroup var data: HubData

            func run() async throws {
                do {
                    let services = try await data.open()
                    for line in try await services.memberLines() { say(line) }
                    await services.store.close()
                } catch let e as ConfigurationError {
                    throw fail(e.description)
                }
            }
        }

        struct Suspend: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Suspend a member: its signatures are refused and its keys leave the trust list.")
            @Option(help: "The member's region.") var region: String
            @OptionGroup var data: HubData

            func run() async throws {
                do {
                    let services = try await data.open()
                    defer { Task { await services.store.close() } }
                    try await services.suspend(region: region)
                    say("suspended \(region)")
                } catch let e as ConfigurationError {
                    throw fail(e.description)
                } catch let e as DomainError {
                    throw fail("\(e.code): \(e.detail)")
                }
            }
        }
    }
}

extension Keys {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print this node's (or hub's) federation public key as JSON: {\"federationKey\":JWK,\"region\":R|null} (a hub: {\"hub\":true,…}).")
        @Option(name: .customLong("data-dir"), help: "The node's or hub's data folder.") var dataDir: String = "./onecard-data"

        func run() async throws {
            let directory = URL(fileURLWithPath: dataDir).standardizedFileURL
            do {
                let key = try FederationKey.loadOrCreate(in: directory)
                let isHub = FileManager.default.fileExists(atPath: directory.appendingPathComponent(HubConfiguration.marker).path)
                let jwk = key.publicJWK.json
                if isHub {
                    say(#"{"federationKey":\#(jwk),"hub":true}"#)
                } else {
                    let region = (try? SigningKeyRing.load(from: directory))?.region
                    say(#"{"federationKey":\#(jwk),"region":\#(region.map { "\"\($0)\"" } ?? "null")}"#)
                }
            } catch {
                throw fail("\(error)")
            }
        }
    }
}
