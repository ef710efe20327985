import Crypto
import Foundation
import OneCardCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a saved revocation store was not loaded. The verifier then keeps the list it had (a gate just started has none,
/// and decides as it does without one until a sync brings the list).
public enum RevocationStoreError: Error, Equatable, Sendable {
    /// No file at the path.
    case missing
    /// Truncated, altered, of another format, or a state file that belongs to another table.
    case corrupt(String)
    /// The file could not be written.
    case io(String)
}

/// The table's file format, also the body of a revocation snapshot after its signed header:
///
///     "OCRVTAB1" | count: UInt64 LE | offsets: (2^20 + 1) × UInt32 LE | words: count × 5 bytes | SHA-256 of all before
///
/// A gate keeps it as `<store>.revocations` (mode 0600), rewritten only when the overlay was merged into the array, and
/// the small rest — last `seq` per issuer, the overlay, token entries, the table's digest — in `<store>.revocations.state`
/// (JSON then its SHA-256), rewritten after each delta. A state whose digest names another table is refused.
extension CardRevocationTable {
    static let magic: [UInt8] = Array("OCRVTAB1".utf8)
    static let headerSize = 16
    static var offsetsSize: Int { (bucketCount + 1) * 4 }

    /// The file image of the array (the overlay is not in it).
    func fileBytes() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.headerSize + Self.offsetsSize + count * Self.wordSize + 32)
        out += Self.magic
        withUnsafeBytes(of: UInt64(count).littleEndian) { out += $0 }
        for b in 0...Self.bucketCount { withUnsafeBytes(of: offsets[b].littleEndian) { out += $0 } }
        out += UnsafeRawBufferPointer(start: words, count: count * Self.wordSize)
        out += SHA256.hash(data: out)
        return out
    }

    /// A table from its file image, or why not: the size, magic, digest, and that offsets and words are in order.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(RevocationStoreError) -> CardRevocationTable {
        guard bytes.count >= headerSize + offsetsSize + 32, Array(bytes[0..<8]) == magic else { throw .corrupt("not a revocation table") }
        let count = Int(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        guard count >= 0, count < Int(UInt32.max), bytes.count == headerSize + offsetsSize + count * wordSize + 32 else {
            throw .corrupt("truncated revocation table")
        }
        let body = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 32)])
        guard Array(SHA256.hash(data: body)) == Array(bytes[(bytes.count - 32)...]) else { throw .corrupt("revocation table digest mismatch") }
        let table = CardRevocationTable(
            words: UnsafeRawBufferPointer(rebasing: bytes[(headerSize + offsetsSize)..<(bytes.count - 32)]),
            offsets: UnsafeRawBufferPointer(rebasing: bytes[headerSize..<(headerSize + offsetsSize)]))
        guard table.isWellFormed else { throw .corrupt("revocation table out of order") }
        return table
    }

    /// A table from the file image at `range` of `bytes` (all of them by default).
    static func parse(_ bytes: [UInt8], range: Range<Int>? = nil) throws(RevocationStoreError) -> CardRevocationTable {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(RevocationStoreError) in try parse(UnsafeRawBufferPointer(rebasing: buffer[range ?? 0..<buffer.count])) }
        }
        return try result.get()
    }

    /// Offsets rise from 0 to `count`; words rise within each bucket.
    var isWellFormed: Bool {
        guard offsets[0] == 0, Int(offsets[Self.bucketCount]) == count else { return false }
        for b in 0..<Self.bucketCount {
            let lo = Int(offsets[b]), hi = Int(offsets[b + 1])
            guard lo <= hi else { return false }
            var previous: UInt64?
            for i in lo..<hi {
                let r = word(i) >> 3
                if let p = previous, p >= r { return false }
                previous = r
            }
        }
        return true
    }
}

/// What `<store>.revocations.state` holds.
struct RevocationStoreState: Codable {
    /// SHA-256 (hex) of the table file this state goes with.
    var table: String
    var seq: [String: Int64]
    /// Overlay changes: [key, code] (code 255: no longer revoked).
    var overlay: [[UInt64]]
    var tokens: [RevocationEntry]
    var incident: [String]
}

/// Small file helpers: whole-file reads, and writes to a temporary file renamed over the old one (mode 0600), so a
/// crash leaves the old file or the new one, never half of one.
enum StoreFiles {
    static func readAll(_ path: String) throws(RevocationStoreError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw errno == ENOENT ? .missing : .io("\(path): cannot open (errno \(errno))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io("\(path): cannot stat") }
        let size = Int(st.st_size)
        var out = [UInt8](repeating: 0, count: size)
        var done = 0
        let failed = out.withUnsafeMutableBytes { buffer -> Bool in
            while done < size {
                let n = read(fd, buffer.baseAddress! + done, size - done)
                if n <= 0 { return true }
                done += n
            }
            return false
        }
        if failed { throw .corrupt("\(path): short read") }
        return out
    }

    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(RevocationStoreError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw .io("\(temporary): cannot create (errno \(errno))") }
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n <= 0 { return false }
                done += n
            }
            return fsync(fd) == 0
        }
        fchmod(fd, 0o600)
        close(fd)
        guard ok, rename(temporary, path) == 0 else { unlink(temporary); throw .io("\(path): cannot write") }
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
