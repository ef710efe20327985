import Foundation
import OneCardCore

/// Prints an HTML document to PDF with headless Chromium (issue 16: the oversight report "rendered by a real renderer,
/// e.g. headless Chromium's print"): Chinese text set in the system's CJK font, SVG charts drawn as vectors, the text
/// extractable. One print at a time per process, each in its own temporary directory and browser profile, stopped
/// after `timeout` seconds.
actor ReportPrinter {
    /// The browser: `ONECARD_CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on the PATH.
    let executable: String?
    let timeout: TimeInterval

    init(executable: String? = ReportPrinter.locate(), timeout: TimeInterval = 60) {
        self.executable = executable; self.timeout = timeout
    }

    static func locate() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let given = env["ONECARD_CHROMIUM"], FileManager.default.isExecutableFile(atPath: given) { return given }
        let dirs = (env["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in dirs where FileManager.default.isExecutableFile(atPath: dir + "/" + name) { return dir + "/" + name }
        }
        return nil
    }

    /// Whether a print is running, and the prints waiting for it (an actor alone would let them interleave at `await`).
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// The PDF of `html` (a complete document: its styles inline, nothing fetched).
    func pdf(html: String) async throws -> Data {
        guard let executable else {
            throw DomainError(.reportRendererUnavailable, "the report is printed by headless Chromium, which is not installed on this node (Debian: chromium)")
        }
        if busy { await withCheckedContinuation { waiting.append($0) } } else { busy = true }
        defer { if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() } }
        return try await render(html, with: executable)
    }

    private func render(_ html: String, with executable: String) async throws -> Data {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onecard-print-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = dir.appendingPathComponent("report.html"), out = dir.appendingPathComponent("report.pdf")
        try Data(html.utf8).write(to: page)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--no-default-browser-check", "--disable-extensions", "--user-data-dir=" + dir.appendingPathComponent("profile").path,
                             "--no-pdf-header-footer", "--print-to-pdf=" + out.path, page.absoluteString]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let watchdog = Task { [timeout] in
            try await Task.sleep(for: .seconds(timeout))
            process.terminate()
        }
        defer { watchdog.cancel() }
        _ = await process.exit()
        guard let data = try? Data(contentsOf: out), data.starts(with: Data("%PDF-".utf8)) else {
            throw DomainError(.reportRendererUnavailable, "headless Chromium did not print the report")
        }
        return data
    }
}
