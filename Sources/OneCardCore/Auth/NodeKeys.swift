import Crypto
import Foundation

/// The node's secret key material, created once in the data directory, and the purpose keys derived
/// from it with HKDF so that no key serves two purposes.
public struct NodeKeys: Sendable {
    public let master: SymmetricKey

    public init(master: SymmetricKey) { self.master = master }

    private func derive(_ purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: master, salt: Data("onecard".utf8), info: Data(purpose.utf8), outputByteCount: 32)
    }

    /// AES-GCM key for personal data at rest (generation 1; `personalData(generation:)` for later ones).
    public var personalData: SymmetricKey { derive("personal-data-v1") }
    /// The personal-data key of a generation: `keys rotate --key data` moves to the next, and the re-encryption job
    /// re-seals every value under it.
    public func personalData(generation: Int) -> SymmetricKey { derive("personal-data-v\(generation)") }
    /// The session-signing key of a generation (generation 1 is `sessions`).
    public func sessions(generation: Int) -> SymmetricKey { derive("sessions-v\(generation)") }
    /// HMAC key for the blind index used to look up ID numbers.
    public var blindIndex: SymmetricKey { derive("blind-index-v1") }
    /// Master key from which every card's chip key is diversified.
    public var chipMaster: SymmetricKey { derive("chip-master-v1") }
    /// HMAC key that signs staff and holder session tokens.
    public var sessions: SymmetricKey { derive("sessions-v1") }
    /// Key for pseudonyms and other node-local references.
    public var pseudonyms: SymmetricKey { derive("pseudonyms-v1") }
    /// HMAC key that signs the links a holder makes to share one record (issue 15).
    public var recordShares: SymmetricKey { derive("record-shares-v1") }

    /// Loads `node.key` from `directory`, creating it (mode 0600) on first use; or, with `file`, the key kept apart from
    /// the data (another disk, a secrets mount), which must exist. Either is refused when group or others may read it.
    public static func loadOrCreate(in directory: URL, file: URL? = nil, random: RandomSource = .system) throws -> NodeKeys {
        let fm = FileManager.default
        if let file { return try read(file, fm) }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = directory.appendingPathComponent("node.key")
        if fm.fileExists(atPath: file.path) { return try read(file, fm) }
        let bytes = Data(random.bytes(32))
        guard fm.createFile(atPath: file.path, contents: Data(bytes.base64EncodedString().utf8), attributes: [.posixPermissions: 0o600]) else {
            throw KeyFileError(path: file.path)
        }
        return NodeKeys(master: SymmetricKey(data: bytes))
    }
}

extension NodeKeys {
    fileprivate static func read(_ file: URL, _ fm: FileManager) throws -> NodeKeys {
        guard let attributes = try? fm.attributesOfItem(atPath: file.path) else { throw KeyFileError(path: file.path, problem: .missing) }
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw KeyFileError(path: file.path, problem: .readableByOthers(mode: mode))
        }
        guard let text = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              let data = Data(base64Encoded: text), data.count == 32 else {
            throw KeyFileError(path: file.path)
        }
        return NodeKeys(master: SymmetricKey(data: data))
    }
}

public struct KeyFileError: Error, CustomStringConvertible {
    public enum Problem: Sendable, Equatable { case corrupt, missing, readableByOthers(mode: Int) }
    public let path: String
    public var problem: Problem = .corrupt
    public init(path: String, problem: Problem = .corrupt) { self.path = path; self.problem = problem }
    public var description: String {
        switch problem {
        case .corrupt: "the node key file \(path) is unreadable or corrupt (expected 32 bytes, base64)"
        case .missing: "the node key file \(path) does not exist (make one with: head -c 32 /dev/urandom | base64 > \(path); chmod 600 \(path))"
        case .readableByOthers(let mode): "the node key file \(path) may be read by group or others (mode \(String(mode, radix: 8))): chmod 600 \(path)"
        }
    }
}

/// Encrypts personal data fields with AES-GCM and computes the blind index used to find them.
public struct FieldCipher: Sendable {
    /// The personal-data keys by generation, and which one seals now (shared by every session of a store, moved by a
    /// rotation).
    public let generations: DataKeyGenerations
    /// HMAC with the blind-index key already absorbed: each index copies it instead of redoing the key schedule.
    private let indexMAC: HMAC<SHA256>

    public init(keys: NodeKeys, generations: DataKeyGenerations? = nil) {
        self.generations = generations ?? DataKeyGenerations(keys: keys)
        indexMAC = HMAC<SHA256>(key: keys.blindIndex)
    }

    /// Base64 of nonce ‖ ciphertext ‖ tag. The field name is bound as authenticated data, so a value
    /// copied into another column does not decrypt.
    /// Under generation 1 the bare base64; under a later generation `k<n>.` and the base64 (base64 has no dot, so
    /// the prefix is unambiguous and a value says which key opens it).
    public func seal(_ plaintext: String, field: String) -> String {
        let generation = generations.current
        let box = try! AES.GCM.seal(Data(plaintext.utf8), using: generations.key(generation), authenticating: Data(field.utf8))
        let text = box.combined!.base64EncodedString()
        return generation == 1 ? text : DataKeyGenerations.prefix(generation) + text
    }

    public func open(_ sealed: String, field: String) throws -> String {
        let (generation, body) = DataKeyGenerations.split(sealed)
        guard let generation, let data = Data(base64Encoded: String(body)) else { throw CipherError.corrupt }
        let box = try AES.GCM.SealedBox(combined: data)
        let plain = try AES.GCM.open(box, using: generations.key(generation), authenticating: Data(field.utf8))
        guard let s = String(data: plain, encoding: .utf8) else { throw CipherError.corrupt }
        return s
    }

    /// Keyed hash of a normalised value: equal inputs find each other, the index reveals nothing.
    /// The keyed hash is of `field:VALUE` (the value upper-cased); an ASCII value (ID numbers, accounts) is upper-cased
    /// byte by byte, which is what `uppercased()` does to ASCII, without its Unicode tables. An upload computes one per
    /// line and an executed payment one more: through `uppercased()`, `Data` and a generic hex encoder this was 8 % of
    /// an upload's CPU.
    public func blindIndex(_ value: String, field: String) -> String {
        var message: [UInt8] = []
        message.reserveCapacity(field.utf8.count + 1 + value.utf8.count)
        message.append(contentsOf: field.utf8)
        message.append(UInt8(ascii: ":"))
        if value.utf8.allSatisfy({ $0 < 0x80 }) {
            for b in value.utf8 { message.append((0x61...0x7A).contains(b) ? b - 0x20 : b) }
        } else {
            message.append(contentsOf: value.uppercased().utf8)
        }
        var mac = indexMAC
        mac.update(data: message)
        return mac.finalize().withUnsafeBytes { Hex.encode($0) }
    }

    public enum CipherError: Error { case corrupt }
}

/// The generations of the personal-data key: which one seals now, each derived from the node key once and kept.
public final class DataKeyGenerations: @unchecked Sendable {
    private let lock = NSLock()
    private let keys: NodeKeys
    private var derived: [Int: SymmetricKey] = [:]
    private var generation = 1

    public init(keys: NodeKeys, current: Int = 1) { self.keys = keys; generation = max(1, current) }

    public var current: Int { lock.lock(); defer { lock.unlock() }; return generation }

    /// Moves to `generation` (never back: another process may have moved further already).
    public func advance(to generation: Int) { lock.lock(); self.generation = max(self.generation, generation); lock.unlock() }

    public func key(_ generation: Int) -> SymmetricKey {
        lock.lock(); defer { lock.unlock() }
        if let k = derived[generation] { return k }
        let k = generation == 1 ? keys.personalData : keys.personalData(generation: generation)
        derived[generation] = k
        return k
    }

    public static func prefix(_ generation: Int) -> String { "k\(generation)." }

    /// The generation a sealed value names (1 when it names none) and its base64; nil for a malformed prefix.
    public static func split(_ sealed: String) -> (Int?, Substring) {
        guard sealed.hasPrefix("k"), let dot = sealed.firstIndex(of: ".") else { return (1, Substring(sealed)) }
        guard let n = Int(sealed[sealed.index(after: sealed.startIndex)..<dot]), n >= 2 else { return (nil, Substring(sealed)) }
        return (n, sealed[sealed.index(after: dot)...])
    }
}
