import Foundation
import OneCardCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps a SQLite database to one serving process. SQLite is embedded: the platform's single-writer queue, its group
/// commit and its in-memory caches hold only within one process, so a second `onecard serve` (or `onecard hub`) on the
/// same file must not start. Several stateless processes share PostgreSQL instead.
///
/// The lock is an exclusive `flock` on `<database>.serve-lock` next to the file, held for the life of the process (the
/// kernel releases it when the process ends, even by SIGKILL, so a crash leaves no stale lock). Short commands (`users
/// create`, `keys show`, `migrate`) do not take it: SQLite's own locking lets them write beside a running server.
public final class ServeLock: Sendable {
    /// The lock file's path.
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) { self.path = path; self.descriptor = descriptor }

    /// Takes the lock for `database` when it is a SQLite file; nil for PostgreSQL or an in-memory database (nothing to share).
    /// Fails with a message naming the file when another process holds it.
    public static func acquire(for database: DatabaseURL) throws(ConfigurationError) -> ServeLock? {
        guard case .sqliteFile(let file) = database else { return nil }
        let dbPath = URL(fileURLWithPath: file).standardizedFileURL.path
        let path = dbPath + ".serve-lock"
        try? FileManager.default.createDirectory(at: URL(fileURLWithPath: dbPath).deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ConfigurationError("cannot open the lock file \(path) beside the SQLite database: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            if busy {
                throw ConfigurationError("the SQLite database \(dbPath) is already served by another process"
                    + (holder.isEmpty ? "" : " (pid \(holder))")
                    + "; SQLite serves one process at a time (lock \(path)): stop it, or run several processes on PostgreSQL (--database postgres://…)")
            }
            throw ConfigurationError("cannot lock \(path) beside the SQLite database: \(String(cString: strerror(errno)))")
        }
        // Who holds it, for the message a second process prints.
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return ServeLock(path: path, descriptor: fd)
    }

    deinit { close(descriptor) }
}
