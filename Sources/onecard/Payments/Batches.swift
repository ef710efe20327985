import ArgumentParser
import Foundation
import OneCardServer

/// `onecard batches execute ID` talks to a running platform over its HTTP API, as the department's own
/// staff would: it signs in (a token in ONECARD_TOKEN or --token, or --username with the password on standard
/// input), starts execution and follows the batch until it completes. The server's executor does the work, so
/// stopping this command stops nothing.
struct Batches: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Payment batches.", subcommands: [Execute.self])

    struct Execute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Execute an approved batch and show its progress (a bar with rate and time left on a terminal, plain lines otherwise).")

        @Argument(help: "The batch id.") var id: String
        @Option(help: "The platform's base URL (also ONECARD_SERVER).") var server: String?
        @Option(help: "A bearer token (also ONECARD_TOKEN).") var token: String?
        @Option(help: "Sign in as this staff user; the password is read from standard input.") var username: String?
        @Option(help: "Give up waiting after this many seconds (the batch keeps running on the server).") var timeout: Double?

        func run() async throws {
            let env = ProcessInfo.processInfo.environment
            let base = (server ?? env["ONECARD_SERVER"] ?? "http://127.0.0.1:8080").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let http = HTTPClient1(timeout: .seconds(30))
            var bearer = token ?? env["ONECARD_TOKEN"]
            if let username {
                guard let password = readLine(strippingNewline: true), !password.isEmpty else { throw fail("give the password on standard input") }
                let body = try JSONSerialization.data(withJSONObject: ["username": username, "password": password])
                let r = try await http.send("POST", base + "/api/v1/auth/token", headers: [("Content-Type", "application/json")], body: body)
                guard r.status == 200, let json = try JSONSerialization.jsonObject(with: r.body) as? [String: Any], let t = json["accessToken"] as? String else {
                    throw fail("sign-in failed (HTTP \(r.status))")
                }
                bearer = t
            }
            guard let bearer else { throw fail("sign in: --token, ONECARD_TOKEN or --username") }
            let auth = [("Authorization", "Bearer \(bearer)")]
            let started = try await http.send("POST", base + "/api/v1/batches/\(id)/execute", headers: auth)
            guard started.status == 202 else { throw fail("execute refused: HTTP \(started.status) \(String(decoding: started.body, as: UTF8.self))") }
            let tty = isatty(STDOUT_FILENO) == 1
            let clock = ContinuousClock()
            let begin = clock.now
            var firstDone: Int?
            var lastLine = ""
            var lastPrinted = clock.now - .seconds(10)
            while true {
                let r = try await http.send("GET", base + "/api/v1/batches/\(id)", headers: auth)
                guard r.status == 200, let b = try JSONSerialization.jsonObject(with: r.body) as? [String: Any],
                      let counts = b["counts"] as? [String: Int] else { throw fail("cannot read the batch: HTTP \(r.status)") }
                let total = max(1, (b["requestedCount"] as? Int) ?? 0)
                let done = (counts["paid"] ?? 0) + (counts["failed"] ?? 0) + (counts["returned"] ?? 0)
                if firstDone == nil { firstDone = done }
                let elapsed = Double((clock.now - begin).components.seconds) + Double((clock.now - begin).components.attoseconds) / 1e18
                let rate = elapsed > 0 ? Double(done - (firstDone ?? 0)) / elapsed : 0
                let left = rate > 0 ? Double(total - done) / rate : nil
                let status = b["status"] as? String ?? "?"
                let summary = "\(done)/\(total) paid \(counts["paid"] ?? 0) failed \(counts["failed"] ?? 0) returned \(counts["returned"] ?? 0) · \(Int(rate))/s"
                    + (left.map { " · \(Self.duration($0)) left" } ?? "")
                if tty {
                    let width = 30
                    let filled = Int(Double(width) * Double(done) / Double(total))
                    let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                    FileHandle.standardOutput.write(Data("\r\u{1B}[2K[\(bar)] \(done * 100 / total)% \(summary)".utf8))
                } else if summary != lastLine, clock.now - lastPrinted >= .seconds(1) || status == "completed" {
                    say("batch \(id) \(status): \(summary)")
                    lastLine = summary
                    lastPrinted = clock.now
                }
                if status == "completed" {
                    if tty { FileHandle.standardOutput.write(Data("\n".utf8)) }
                    let totals = b["totals"] as? [String: Int] ?? [:]
                    say("batch \(id) completed: requested \(totals["requestedFen"] ?? 0) fen, paid \(totals["paidFen"] ?? 0), failed \(totals["failedFen"] ?? 0), returned \(totals["returnedFen"] ?? 0)")
                    return
                }
                if let timeout, elapsed > timeout {
                    if tty { FileHandle.standardOutput.write(Data("\n".utf8)) }
                    throw fail("still \(status) after \(Int(timeout)) s; the server keeps executing it")
                }
                try await Task.sleep(for: .milliseconds(tty ? 200 : 500))
            }
        }

        static func duration(_ s: Double) -> String {
            let t = Int(s.rounded())
            return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
        }
    }
}
