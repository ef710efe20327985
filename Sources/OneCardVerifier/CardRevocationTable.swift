import Crypto
import Foundation
import OneCardCore

/// The revoked cards a gate holds: compact enough for ten million on a gate (issue 18: under 64 MB on disk and in
/// memory, a look-up under 1 µs), changed by deltas without rewriting the whole table.
///
/// **Layout: a sorted fingerprint array with a bucket index** (the EU DCC revocation design's "hash list", not its
/// Bloom filter). A card's key is the top 57 bits of its `CardNumber.hash` (SHA-256, so uniformly spread). The top
/// 20 bits pick one of 2^20 buckets; `offsets` (2^20 + 1 `UInt32`, 4 MiB) says where each bucket starts in `words`; a
/// word is 5 bytes, the remaining 37 bits of the key and a 3-bit status (what `revocation(ofCard:)` returns: lost,
/// temporarily lost, cancelled, replaced, online only). At 10 million cards: 50 MB of words + 4 MiB of index =
/// 54.2 MB, 5.4 bytes per card, in the file and in memory alike.
///
/// **Why not a binary fuse or cuckoo filter plus an exact check.** A filter at ~9 bits per entry is smaller, but the
/// exact second check then needs the full 32-byte hashes somewhere (320 MB at 10 million: not on a gate) or a call to
/// the node (not offline), and a binary fuse filter cannot delete: un-revocation (a found card) would rebuild it.
/// Here the fingerprint *is* the check: a card not on the list is wrongly found only if its 57-bit key equals one of
/// the n listed, probability n / 2^57 = 6.9e-11 per look-up at 10 million (one false refusal in ~14 billion reads of
/// good cards; a refused holder is sent to an online check, as without a list). The other way round, two listed cards
/// sharing a key (probability about n² / 2^58 = 3.5e-4 that any such pair exists at 10 million) read as one: if one
/// of the pair is later un-revoked the other reads as not revoked — the residual risk of the 57-bit choice, stated.
///
/// **Worst-case look-up**: a bucket holds 9.5 words on average at 10 million (Poisson; above 40 with probability
/// < 1e-12 per bucket), a binary search touches at most 6 words in one or two cache lines, plus one index read: a
/// few hundred nanoseconds at worst, measured in `Benchmarks/revocation_store.sh`.
///
/// **Deltas** go to `overlay` (key → status, or a removal) that look-ups read first; when it holds `mergeThreshold`
/// changes it is merged into the array in place (one forward pass drops removed entries and updates statuses, one
/// backward pass inserts new ones), so applying a delta costs a dictionary write, and the 54 MB array is rewritten
/// once per `mergeThreshold` changes without a second copy in memory.
///
/// Not thread-safe: `QRVerifier` keeps it behind its lock.
final class CardRevocationTable {
    static let bucketBits = 20
    static let remainderBits = 37
    static let bucketCount = 1 << bucketBits
    static let remainderMask: UInt64 = (1 << remainderBits) - 1
    static let wordSize = 5
    /// Overlay changes kept before they are merged into the array (a merge of 10 million words takes tens of
    /// milliseconds; at 65,536 a change costs under a nanosecond of it on average).
    var mergeThreshold = 65_536
    /// The overlay's mark for "no longer revoked".
    static let removed: UInt8 = 0xFF

    /// The bytes of the words: `count` words of 5 bytes, little-endian, in key order.
    private(set) var words: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count: Int
    /// `offsets[b]` is the index of bucket b's first word; `offsets[bucketCount] == count`.
    let offsets: UnsafeMutablePointer<UInt32>
    /// Changes not yet merged: key → status code, or `removed`.
    private(set) var overlay: [UInt64: UInt8] = [:]
    /// Raised each time the array changes (a merge): a saved file of an older version is stale.
    private(set) var version = 0

    /// An empty table.
    init() {
        capacity = 1024
        words = .allocate(byteCount: capacity * Self.wordSize, alignment: 8)
        count = 0
        offsets = .allocate(capacity: Self.bucketCount + 1)
        offsets.initialize(repeating: 0, count: Self.bucketCount + 1)
    }

    /// A table of `words` bytes and `offsets`, as read from a file (`RevocationStoreFile` checks them first).
    init(words source: UnsafeRawBufferPointer, offsets sourceOffsets: UnsafeRawBufferPointer) {
        count = source.count / Self.wordSize
        capacity = max(count, 1024)
        words = .allocate(byteCount: capacity * Self.wordSize, alignment: 8)
        if count > 0 { words.copyMemory(from: source.baseAddress!, byteCount: count * Self.wordSize) }
        offsets = .allocate(capacity: Self.bucketCount + 1)
        for b in 0...Self.bucketCount { offsets[b] = UInt32(littleEndian: sourceOffsets.loadUnaligned(fromByteOffset: b * 4, as: UInt32.self)) }
    }

    /// An empty table with room for `capacity` words, to be filled in place and then `adopt`ed (`read(from:)`).
    init(capacity wanted: Int) {
        capacity = max(wanted, 1024)
        words = .allocate(byteCount: capacity * Self.wordSize, alignment: 8)
        count = 0
        offsets = .allocate(capacity: Self.bucketCount + 1)
        offsets.initialize(repeating: 0, count: Self.bucketCount + 1)
    }

    /// Takes the first `count` words written into `words` (and the offsets written into `offsets`) as the table's.
    func adopt(count filled: Int) {
        precondition(filled <= capacity)
        count = filled
    }

    deinit {
        words.deallocate()
        offsets.deallocate()
    }

    // MARK: keys and codes

    /// The 57-bit key of a card named by its hex SHA-256 (`CardNumber.hash`); nil when it is not 16+ hex digits.
    static func key(hash: String) -> UInt64? {
        var prefix: UInt64 = 0
        var n = 0
        for c in hash.utf8 {
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x61...0x66: v = c - 0x61 + 10
            case 0x41...0x46: v = c - 0x41 + 10
            default: return nil
            }
            prefix = prefix << 4 | UInt64(v)
            n += 1
            if n == 16 { return prefix >> 7 }
        }
        return nil
    }

    /// The 3-bit code a status is stored as (never `active`: an active card is not in the table).
    static func code(_ status: RevocationStatus) -> UInt8 {
        switch status {
        case .lost: 0
        case .temporarilyLost: 1
        case .cancelled: 2
        case .replaced: 3
        case .onlineOnly: 4
        case .entitlementsChanged: 5
        case .active: 6
        }
    }

    static func status(_ code: UInt8) -> RevocationStatus? {
        switch code {
        case 0: .lost
        case 1: .temporarilyLost
        case 2: .cancelled
        case 3: .replaced
        case 4: .onlineOnly
        case 5: .entitlementsChanged
        default: nil
        }
    }

    @inline(__always) func word(_ i: Int) -> UInt64 {
        UInt64(words.loadUnaligned(fromByteOffset: i * Self.wordSize, as: UInt32.self).littleEndian)
            | UInt64(words.load(fromByteOffset: i * Self.wordSize + 4, as: UInt8.self)) << 32
    }

    @inline(__always) private func setWord(_ i: Int, _ w: UInt64) {
        words.storeBytes(of: UInt32(truncatingIfNeeded: w).littleEndian, toByteOffset: i * Self.wordSize, as: UInt32.self)
        words.storeBytes(of: UInt8(truncatingIfNeeded: w >> 32), toByteOffset: i * Self.wordSize + 4, as: UInt8.self)
    }

    // MARK: look-up and change

    /// The status of the card with `key`, or nil when it is not revoked.
    @inline(__always) func lookup(key: UInt64) -> RevocationStatus? {
        if !overlay.isEmpty, let code = overlay[key] { return code == Self.removed ? nil : Self.status(code) }
        return lookupArray(key: key)
    }

    /// The array alone (no overlay): a binary search in the key's bucket.
    @inline(__always) func lookupArray(key: UInt64) -> RevocationStatus? {
        let b = Int(key >> UInt64(Self.remainderBits))
        var lo = Int(offsets[b]), hi = Int(offsets[b + 1])
        let remainder = key & Self.remainderMask
        while lo < hi {
            let mid = (lo + hi) >> 1
            let w = word(mid)
            let r = w >> 3
            if r == remainder { return Self.status(UInt8(w & 7)) }
            if r < remainder { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    /// Records a card's new status (`nil`: no longer revoked); merges the overlay once it is large.
    func set(key: UInt64, status: RevocationStatus?) {
        overlay[key] = status.map(Self.code) ?? Self.removed
        if overlay.count >= mergeThreshold { merge() }
    }

    /// Cards listed (after merging, exactly; before, counting overlay entries as the array would).
    var revokedCount: Int { merge(); return count }

    /// Folds the overlay into the array in place: a forward pass drops removed keys and updates statuses, a backward
    /// pass inserts new keys. No second copy of the array is made.
    func merge() {
        guard !overlay.isEmpty else { return }
        let ops = overlay.sorted { $0.key < $1.key }
        overlay = [:]
        version += 1
        var inserts: [(key: UInt64, code: UInt8)] = []
        inserts.reserveCapacity(ops.count)
        var j = 0
        var w = 0
        var oldStart = Int(offsets[0])
        for b in 0..<Self.bucketCount {
            let oldEnd = Int(offsets[b + 1])
            let newStart = w
            let high = UInt64(b) << UInt64(Self.remainderBits)
            for i in oldStart..<oldEnd {
                let word = self.word(i)
                let key = high | word >> 3
                while j < ops.count, ops[j].key < key {
                    if ops[j].value != Self.removed { inserts.append((ops[j].key, ops[j].value)) }
                    j += 1
                }
                if j < ops.count, ops[j].key == key {
                    if ops[j].value != Self.removed { setWord(w, (word & ~7) | UInt64(ops[j].value)); w += 1 }
                    j += 1
                } else {
                    if w != i { setWord(w, word) }
                    w += 1
                }
            }
            offsets[b] = UInt32(newStart)
            oldStart = oldEnd
        }
        offsets[Self.bucketCount] = UInt32(w)
        while j < ops.count {
            if ops[j].value != Self.removed { inserts.append((ops[j].key, ops[j].value)) }
            j += 1
        }
        count = w
        guard !inserts.isEmpty else { return }

        let newCount = count + inserts.count
        reserve(newCount)
        var oldEnd = count
        var write = newCount
        var k = inserts.count
        offsets[Self.bucketCount] = UInt32(newCount)
        var b = Self.bucketCount - 1
        while k > 0 {
            let start = Int(offsets[b])
            var i = oldEnd
            let bucket = UInt64(b)
            while true {
                let hasInsert = k > 0 && inserts[k - 1].key >> UInt64(Self.remainderBits) == bucket
                if i > start, !hasInsert || (word(i - 1) >> 3) > (inserts[k - 1].key & Self.remainderMask) {
                    write -= 1; i -= 1
                    setWord(write, word(i))
                } else if hasInsert {
                    write -= 1; k -= 1
                    setWord(write, (inserts[k].key & Self.remainderMask) << 3 | UInt64(inserts[k].code))
                } else { break }
            }
            offsets[b] = UInt32(write)
            oldEnd = start
            b -= 1
        }
        count = newCount
    }

    private func reserve(_ n: Int) {
        guard n > capacity else { return }
        let bigger = max(n, capacity + capacity / 8)
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: bigger * Self.wordSize, alignment: 8)
        fresh.copyMemory(from: words, byteCount: count * Self.wordSize)
        words.deallocate()
        words = fresh
        capacity = bigger
    }

    /// Builds a table from many entries at once (a node making a snapshot, a benchmark): sorted once, no overlay.
    static func build(_ entries: [(key: UInt64, code: UInt8)]) -> CardRevocationTable {
        let table = CardRevocationTable()
        var sorted = entries
        sorted.sort { $0.key < $1.key }
        table.reserve(sorted.count)
        var n = 0
        var b = 0
        for (i, e) in sorted.enumerated() {
            // A key given twice keeps its last entry (the input's order among equal keys is not kept by sort: callers
            // give each key once).
            if i + 1 < sorted.count, sorted[i + 1].key == e.key { continue }
            let bucket = Int(e.key >> UInt64(remainderBits))
            while b <= bucket { table.offsets[b] = UInt32(n); b += 1 }
            table.setWord(n, (e.key & remainderMask) << 3 | UInt64(e.code))
            n += 1
        }
        while b <= bucketCount { table.offsets[b] = UInt32(n); b += 1 }
        table.count = n
        return table
    }

    /// Builds a table from a list's entries in `seq` order, each `key << 3 | code` (code 7: no longer revoked), where a
    /// later entry for a key replaces an earlier one (a node making a snapshot from its log). A counting sort by bucket
    /// keeps the entries' order (so "later wins" survives), then each bucket (9.5 entries on average at 10 million) is
    /// sorted in place, stably, by insertion: two arrays of 8 bytes an entry at the peak, no dictionary.
    static func build(sequenced entries: inout [UInt64]) -> CardRevocationTable {
        let shift = UInt64(remainderBits + 3)
        var starts = [Int](repeating: 0, count: bucketCount + 1)
        for e in entries { starts[Int(e >> shift) + 1] += 1 }
        for b in 0..<bucketCount { starts[b + 1] += starts[b] }
        var sorted = [UInt64](repeating: 0, count: entries.count)
        var next = starts
        for e in entries {
            let b = Int(e >> shift)
            sorted[next[b]] = e
            next[b] += 1
        }
        entries = []
        next = []
        let table = CardRevocationTable()
        table.reserve(sorted.count)
        var n = 0
        sorted.withUnsafeMutableBufferPointer { s in
            for b in 0..<bucketCount {
                let lo = starts[b], hi = starts[b + 1]
                table.offsets[b] = UInt32(n)
                if hi - lo > 1 {
                    for i in (lo + 1)..<hi {
                        let x = s[i]
                        var j = i
                        while j > lo, s[j - 1] >> 3 > x >> 3 { s[j] = s[j - 1]; j -= 1 }
                        s[j] = x
                    }
                }
                var i = lo
                while i < hi {
                    while i + 1 < hi, s[i + 1] >> 3 == s[i] >> 3 { i += 1 }
                    let last = s[i]
                    i += 1
                    guard last & 7 != 7 else { continue }
                    table.setWord(n, (last >> 3 & remainderMask) << 3 | last & 7)
                    n += 1
                }
            }
        }
        table.offsets[bucketCount] = UInt32(n)
        table.count = n
        return table
    }

    /// Bytes held in memory for the array and its index (what the table costs a gate).
    var memoryBytes: Int { capacity * Self.wordSize + (Self.bucketCount + 1) * 4 }
}
