import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, with the part of Foundation's `Process` interface the platform and its
/// tests use. Foundation's `Process.run()` on Linux (Swift 6.3.1) reads 256 bytes of every `/proc/self/fd` entry
/// whatever its length (swift-corelibs-foundation PR #5472) and, when the directory buffer ends at the edge of mapped
/// memory, crashes the whole process with SIGSEGV in `memcpy` — seen in the test command even with glibc's mmap
/// threshold lowered. Here the child's other descriptors are closed by the spawn itself
/// (`posix_spawn_file_actions_addclosefrom_np`, glibc 2.34), so no descriptor of this process — another child's pipe
/// above all — leaks into it, and nothing walks `/proc/self/fd`.
public final class ChildProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String] = []
    /// nil: this process's environment.
    public var environment: [String: String]?
    /// A `Pipe` or a `FileHandle`, as with `Process`; nil: this process's own.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    private let lock = NSLock()
    private var pid: pid_t = 0
    private var status: Int32?

    public init() {}

    public var processIdentifier: Int32 { lock.lock(); defer { lock.unlock() }; return pid }

    public struct SpawnError: Error, CustomStringConvertible {
        public let path: String, code: Int32
        public var description: String { "cannot start \(path): \(String(cString: strerror(code)))" }
    }

    /// The descriptor the child gets for one of its standard streams, and the one this process closes after the spawn
    /// (the child's end of a pipe, as `Process` does, so the reader sees the end when the child exits).
    private static func descriptor(_ stream: Any?, reading: Bool) -> (child: Int32, closeAfter: FileHandle?)? {
        switch stream {
        case let pipe as Pipe:
            return reading ? (pipe.fileHandleForReading.fileDescriptor, pipe.fileHandleForReading)
                           : (pipe.fileHandleForWriting.fileDescriptor, pipe.fileHandleForWriting)
        case let handle as FileHandle:
            return (handle.fileDescriptor, nil)
        default:
            return nil
        }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    /// glibc's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not show.
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    public func run() throws {
        guard let path = executableURL?.path else { throw SpawnError(path: "(none)", code: ENOENT) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var closeAfter: [FileHandle] = []
        for (stream, target, reading) in [(standardInput, Int32(0), true), (standardOutput, 1, false), (standardError, 2, false)] {
            guard let d = Self.descriptor(stream, reading: reading) else { continue }
            posix_spawn_file_actions_adddup2(&actions, d.child, target)
            if let c = d.closeAfter { closeAfter.append(c) }
        }
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no signal blocked and default handlers (this process may block or catch some).
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none); sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv { free(p) }; for p in env { free(p) } }
        var child: pid_t = 0
        let rc = argv.withUnsafeBufferPointer { a in
            env.withUnsafeBufferPointer { e in
                posix_spawn(&child, path, &actions, &attributes, UnsafeMutablePointer(mutating: a.baseAddress!), UnsafeMutablePointer(mutating: e.baseAddress!))
            }
        }
        guard rc == 0 else { throw SpawnError(path: path, code: rc) }
        lock.lock(); pid = child; lock.unlock()
        for handle in closeAfter { try? handle.close() }
    }

    /// Reaps the child if it has ended (without waiting, or waiting when `block`).
    private func reap(block: Bool) -> Int32? {
        lock.lock(); defer { lock.unlock() }
        if let status { return status }
        guard pid > 0 else { return nil }
        var raw: Int32 = 0
        while true {
            let r = waitpid(pid, &raw, block ? 0 : WNOHANG)
            if r == -1 && errno == EINTR { continue }
            guard r == pid else { return nil }
            break
        }
        // The exit code, or the signal that ended it (as `Process.terminationStatus`).
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : signal
        return status
    }

    public var isRunning: Bool { pid > 0 && reap(block: false) == nil }

    /// The exit status (or the ending signal's number); 0 before the child has ended.
    public var terminationStatus: Int32 { reap(block: false) ?? 0 }

    /// Waits for the end without holding a thread, looking every 20 ms; the exit status.
    public func exit() async -> Int32 {
        while true {
            if let s = reap(block: false) { return s }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Runs `executable` to its end without holding a thread: `input` on its standard input (none: /dev/null), its
    /// standard output and error collected through temporary files (`errors` empty unless `separateErrors`), the end
    /// awaited with `exit()`. For the tests' peers (zbarimg, pdftotext, python3, openssl, the onecard binary): a blocking
    /// read of a pipe or `waitUntilExit` holds one of the few threads every task of the process shares, and two slow
    /// peers at once stalled every other test of the run (CI, 2026-12-01: requests waiting 60 s for a connection).
    public static func collect(_ executable: URL, _ arguments: [String], input: Data? = nil,
                               separateErrors: Bool = false) async throws -> (status: Int32, output: Data, errors: Data) {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("onecard-child-\(UUID().uuidString)")
        let inURL = base.appendingPathExtension("in"), outURL = base.appendingPathExtension("out"), errURL = base.appendingPathExtension("err")
        // Only the files this call uses: input when given, errors when kept apart.
        let made = [outURL] + (input == nil ? [] : [inURL]) + (separateErrors ? [errURL] : [])
        defer { for u in made { try? fm.removeItem(at: u) } }
        for u in made where !fm.createFile(atPath: u.path, contents: u == inURL ? input : nil) { throw SpawnError(path: u.path, code: EIO) }
        let out = try FileHandle(forWritingTo: outURL)
        let err = separateErrors ? try FileHandle(forWritingTo: errURL) : out
        let stdin = input == nil ? FileHandle.nullDevice : try FileHandle(forReadingFrom: inURL)
        defer { try? out.close(); if separateErrors { try? err.close() }; if input != nil { try? stdin.close() } }
        let p = ChildProcess()
        p.executableURL = executable
        p.arguments = arguments
        p.standardInput = stdin
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let status = await p.exit()
        return (status, (try? Data(contentsOf: outURL)) ?? Data(), separateErrors ? ((try? Data(contentsOf: errURL)) ?? Data()) : Data())
    }

    /// SIGTERM.
    public func terminate() { signal(SIGTERM) }

    public func signal(_ number: Int32) {
        let p = processIdentifier
        if p > 0, isRunning { kill(p, number) }
    }
}
