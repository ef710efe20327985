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

    /// Writes the file image to `path` (through a temporary file renamed over it, mode 0600) piece by piece from the
    /// table's own memory, never a second copy of the words: returns the image's SHA-256 (its last 32 bytes).
    func write(to path: String) throws(RevocationStoreError) -> [UInt8] {
        do { return try writeFile(path) } catch let e as RevocationStoreError { throw e } catch { throw .io("\(path): \(error)") }
    }

    private func writeFile(_ path: String) throws -> [UInt8] {
        let file = try StoreFiles.Writer(path)
        var hasher = SHA256()
        func put(_ bytes: UnsafeRawBufferPointer) throws {
            hasher.update(bufferPointer: bytes)
            try file.write(bytes)
        }
        do {
            var head = Self.magic
            withUnsafeBytes(of: UInt64(count).littleEndian) { head += $0 }
            try head.withUnsafeBytes { b in try put(b) }
            var chunk = [UInt32](repeating: 0, count: 65_536)
            for start in stride(from: 0, through: Self.bucketCount, by: chunk.count) {
                let n = min(chunk.count, Self.bucketCount + 1 - start)
                for i in 0..<n { chunk[i] = offsets[start + i].littleEndian }
                try chunk.withUnsafeBytes { b in try put(UnsafeRawBufferPointer(rebasing: b[0..<(n * 4)])) }
            }
            try put(UnsafeRawBufferPointer(start: words, count: count * Self.wordSize))
            let digest = Array(hasher.finalize())
            try digest.withUnsafeBytes { b in try file.write(b) }
            try file.commit()
            return digest
        } catch {
            file.abandon()
            throw error
        }
    }

    /// Reads the file image at `path` straight into a table's memory (the words are read once, into their place: a
    /// gate loading ten million cards needs the table's 54 MB, not the file's as well), with the checks `parse` makes.
    /// Returns the table and the image's SHA-256.
    static func read(from path: String) throws(RevocationStoreError) -> (CardRevocationTable, digest: [UInt8]) {
        do { return try readFile(path) } catch let e as RevocationStoreError { throw e } catch { throw .io("\(path): \(error)") }
    }

    private static func readFile(_ path: String) throws -> (CardRevocationTable, digest: [UInt8]) {
        let file = try StoreFiles.Reader(path)
        defer { file.close() }
        var hasher = SHA256()
        var head = [UInt8](repeating: 0, count: headerSize)
        try head.withUnsafeMutableBytes { b in try file.read(into: b) }
        hasher.update(data: head)
        guard Array(head[0..<8]) == magic else { throw RevocationStoreError.corrupt("\(path): not a revocation table") }
        let count = head.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))) }
        guard count >= 0, count < Int(UInt32.max), file.size == headerSize + offsetsSize + count * wordSize + 32 else {
            throw RevocationStoreError.corrupt("\(path): truncated revocation table")
        }
        let table = CardRevocationTable(capacity: count)
        var chunk = [UInt32](repeating: 0, count: 65_536)
        for start in stride(from: 0, through: bucketCount, by: chunk.count) {
            let n = min(chunk.count, bucketCount + 1 - start)
            try chunk.withUnsafeMutableBytes { b in try file.read(into: UnsafeMutableRawBufferPointer(rebasing: b[0..<(n * 4)])) }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<(n * 4)])) }
            for i in 0..<n { table.offsets[start + i] = UInt32(littleEndian: chunk[i]) }
        }
        let words = UnsafeMutableRawBufferPointer(start: table.words, count: count * wordSize)
        try file.read(into: words)
        hasher.update(bufferPointer: UnsafeRawBufferPointer(words))
        table.adopt(count: count)
        var digest = [UInt8](repeating: 0, count: 32)
        try digest.withUnsafeMutableBytes { b in try file.read(into: b) }
        guard Array(hasher.finalize()) == digest else { throw RevocationStoreError.corrupt("\(path): revocation table digest mismatch") }
        guard table.isWellFormed else { throw RevocationStoreError.corrupt("\(path): revocation table out of order") }
        return (table, digest)
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
        let file = try Reader(path)
        defer { file.close() }
        var out = [UInt8](repeating: 0, count: file.size)
        do { try out.withUnsafeMutableBytes { try file.read(into: $0) } } catch let e as RevocationStoreError { throw e } catch { throw .io("\(path): \(error)") }
        return out
    }

    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(RevocationStoreError) {
        let file = try Writer(path)
        do {
            try bytes.withUnsafeBytes { try file.write($0) }
            try file.commit()
        } catch {
            file.abandon()
            throw (error as? RevocationStoreError) ?? .io("\(path): \(error)")
        }
    }

    /// A file written piece by piece to `<path>.tmp` and renamed over `path` on `commit` (after fsync), mode 0600.
    final class Writer {
        let path: String, temporary: String
        private var fd: Int32

        init(_ path: String) throws(RevocationStoreError) {
            self.path = path
            temporary = path + ".tmp"
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw .io("\(temporary): cannot create (errno \(errno))") }
            fchmod(fd, 0o600)
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws(RevocationStoreError) {
            var done = 0
            while done < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw .io("\(temporary): cannot write (errno \(errno))") }
                done += n
            }
        }

        func commit() throws(RevocationStoreError) {
            let synced = fsync(fd) == 0
            Glibc.close(fd)
            fd = -1
            guard synced, rename(temporary, path) == 0 else { unlink(temporary); throw .io("\(path): cannot write") }
        }

        func abandon() {
            if fd >= 0 { Glibc.close(fd); fd = -1 }
            unlink(temporary)
        }
    }

    /// A file read piece by piece, each read filling its buffer exactly (a short file is corrupt).
    final class Reader {
        let path: String
        let size: Int
        private let fd: Int32

        init(_ path: String) throws(RevocationStoreError) {
            self.path = path
            fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw errno == ENOENT ? .missing : .io("\(path): cannot open (errno \(errno))") }
            var st = stat()
            guard fstat(fd, &st) == 0 else { Glibc.close(fd); throw .io("\(path): cannot stat") }
            size = Int(st.st_size)
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws(RevocationStoreError) {
            var done = 0
            while done < buffer.count {
                let n = Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw .corrupt("\(path): short read") }
                done += n
            }
        }

        func close() { Glibc.close(fd) }
    }

}
