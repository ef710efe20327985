import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension RandomSource {
    /// The operating system's secure random bytes, read 4 KiB at a time and handed out from a buffer.
    ///
    /// Why: `RandomSource.system` asks the kernel for every byte (one `getrandom` call each), so the 16
    /// bytes of a `jti` cost about 7 µs on the reference machine — 40 % of an Ed25519 signature — against
    /// about 0.1 µs here (Benchmarks/RESULTS.md). The bytes come from the same kernel generator
    /// (`/dev/urandom`); where it cannot be opened this falls back to `SystemRandomNumberGenerator`.
    public static let systemBuffered: RandomSource = {
        let pool = BufferedSystemRandom()
        return RandomSource { count in pool.bytes(count) }
    }()
}

/// A lock-protected buffer refilled from `/dev/urandom`.
private final class BufferedSystemRandom: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = [UInt8](repeating: 0, count: 4096)
    private var used = 4096
    private let descriptor: Int32 = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    func bytes(_ count: Int) -> [UInt8] {
        guard descriptor >= 0, count <= buffer.count else { return Self.fallback(count) }
        lock.lock()
        defer { lock.unlock() }
        if buffer.count - used < count {
            guard refill() else { return Self.fallback(count) }
        }
        let out = Array(buffer[used..<(used + count)])
        // Bytes handed out are wiped so that they exist in one place only.
        for i in used..<(used + count) { buffer[i] = 0 }
        used += count
        return out
    }

    private func refill() -> Bool {
        var filled = 0
        while filled < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if n <= 0 {
                if n < 0, errno == EINTR { continue }
                return false
            }
            filled += n
        }
        used = 0
        return true
    }

    private static func fallback(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            let word = generator.next()
            withUnsafeBytes(of: word) { for k in 0..<min(8, count - i) { out[i + k] = $0[k] } }
            i += 8
        }
        return out
    }
}
