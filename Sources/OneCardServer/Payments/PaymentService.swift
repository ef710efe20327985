import Foundation
import Logging
import NIOCore
import OneCardCore
import OneCardStore

/// Programmes and payment batches: upload with per-line checks, four-eyes approval, execution, retry.
struct PaymentService: Sendable {
    let store: Store
    let clock: Clock
    let random: RandomSource
    /// Seals account numbers and computes blind indexes of ID numbers in upload lines.
    let cipher: FieldCipher
    let logger: Logger
    /// Wakes the payment executor when a batch is executed or retried.
    let paymentWork: WorkSignal
    var now: Date { clock.now() }

    /// Lines are checked and stored this many at a time, so an upload is never held whole in memory.
    static let uploadChunk = 1000

    func createProgramme(name: String, kind: ProgrammeKind, department: String, legalBasis: String, fundingAccount: String?, actor: String) async throws -> Programme {
        let p = Programme(id: Programme.ID(random.uuid()), name: name.trimmingCharacters(in: .whitespaces), kind: kind,
                          department: department.trimmingCharacters(in: .whitespaces), legalBasis: legalBasis.trimmingCharacters(in: .whitespaces),
                          fundingAccount: fundingAccount, createdBy: actor, createdAt: now)
        try p.validate()
        try await store.write { s in
            try await s.payments.insert(p)
            try await s.audit.append(at: p.createdAt, actor: actor, action: "programme_created", subject: "programme:\(p.id)", purpose: nil)
        }
        return p
    }

    func programme(_ id: Programme.ID) async throws -> Programme {
        guard let p = try await store.read({ try await $0.payments.programme(id) }) else {
            throw DomainError(.programmeNotFound, "no programme \(id)")
        }
        return p
    }

    struct UploadResult: Sendable { var batchId: PaymentBatch.ID; var accepted: Int; var rejected: [RejectedLine] }

    /// An upload in progress: lines are fed in, checked and stored a chunk at a time. Three stages overlap: while one
    /// chunk is inserted (its transaction), the next is checked against the registry (a read) and the one after is
    /// read from the request and checked for syntax. Inserts run one after another in line order, so a person
    /// repeated in a later chunk is the one the insert refuses.
    final class Upload: @unchecked Sendable {
        let service: PaymentService
        let batchId: PaymentBatch.ID
        var buffer: [BatchLine] = []
        var accepted = 0
        var rejected: [RejectedLine] = []
        private var storing: Task<(Int, [RejectedLine]), any Error>?

        init(service: PaymentService, batchId: PaymentBatch.ID) { self.service = service; self.batchId = batchId }

        /// Lines fed in so far (accepted, rejected or not yet checked).
        private(set) var lines = 0

        func add(_ line: BatchLine) async throws {
            lines += 1
            buffer.append(line)
            if buffer.count >= PaymentService.uploadChunk { try await flush() }
        }

        func reject(_ r: RejectedLine) { lines += 1; rejected.append(r) }

        /// Starts checking what is buffered against the registry at once and inserting it when the chunk before it is
        /// inserted; then waits for that chunk before it (so at most two chunks are under way).
        func flush() async throws {
            guard !buffer.isEmpty else { return }
            let prepared = service.prepare(buffer)
            buffer = []
            let (service, batchId, before) = (service, batchId, storing)
            storing = Task {
                let checked = try await service.check(prepared)
                _ = try await before?.value
                return try await service.insert(checked, batchId: batchId)
            }
            try await settle(before)
        }

        private func settle(_ task: Task<(Int, [RejectedLine]), any Error>?) async throws {
            guard let task else { return }
            let (ok, bad) = try await task.value
            accepted += ok
            rejected += bad
        }

        /// Stores the rest and waits until everything is stored.
        func finish() async throws {
            try await flush()
            let last = storing
            storing = nil
            try await settle(last)
        }

        /// Waits for a chunk still being stored, ignoring its outcome (the upload is being given up).
        func drain() async { _ = try? await storing?.value; storing = nil }
    }

    /// Starts an upload. With an Idempotency-Key that an earlier complete upload used, returns that upload's
    /// answer instead (`.repeated`), so a client that lost the reply does not make a second batch.
    enum Begun: Sendable { case new(Upload), repeated(UploadResult) }

    func beginUpload(programmeId: Programme.ID, actor: String, idempotencyKey: String? = nil) async throws -> Begun {
        _ = try await programme(programmeId)
        if let key = idempotencyKey, let earlier = try await repeated(programmeId: programmeId, key: key) { return .repeated(earlier) }
        let batch = PaymentBatch(id: PaymentBatch.ID(random.uuid()), programmeId: programmeId, status: .uploading, uploadedBy: actor, createdAt: now)
        do {
            try await store.write { s in try await s.payments.insert(batch, idempotencyKey: idempotencyKey) }
        } catch where Store.isUniqueViolation(error) {
            throw DomainError(.uploadInProgress, "an upload with this Idempotency-Key is under way")
        }
        return .new(Upload(service: self, batchId: batch.id))
    }

    private func repeated(programmeId: Programme.ID, key: String) async throws -> UploadResult? {
        try await store.read { s in
            guard let id = try await s.payments.batch(programmeId: programmeId, idempotencyKey: key), let b = try await s.payments.batch(id) else { return nil }
            guard b.status != .uploading else {
                throw DomainError(.uploadInProgress, "the upload with this Idempotency-Key is under way or was cut off; use a new key")
            }
            return UploadResult(batchId: id, accepted: try await s.payments.count(batchId: id), rejected: try await s.payments.rejections(batchId: id))
        }
    }

    /// Gives up an upload that was cut off: it becomes `abandoned` (never approved or executed) and its
    /// Idempotency-Key may be used again.
    func abandonUpload(_ upload: Upload, actor: String, reason: String) async {
        await upload.drain()
        do { try await abandon(upload.batchId, actor: actor, reason: reason) } catch {
            logger.error("could not mark an abandoned upload", metadata: ["batch": "\(upload.batchId)", "error": "\(error)"])
        }
    }

    /// An upload still `uploading` after this long was cut off by a crash.
    static let staleUpload: TimeInterval = 3600

    /// Abandons uploads that a crash cut off (still `uploading` an hour after they began). Returns them.
    @discardableResult
    func abandonStaleUploads() async throws -> [PaymentBatch.ID] {
        let stale = try await store.read { [now] s in try await s.payments.uploads(startedBefore: now.addingTimeInterval(-Self.staleUpload)) }
        for id in stale { try await abandon(id, actor: "system", reason: "still uploading after \(Int(Self.staleUpload)) s") }
        return stale
    }

    /// Batches being executed, for the executor's loop.
    func executingBatches() async throws -> [PaymentBatch.ID] {
        try await store.read { try await $0.payments.batches(status: .executing) }
    }

    private func abandon(_ batchId: PaymentBatch.ID, actor: String, reason: String) async throws {
        let at = now
        try await store.write { s in
            guard try await s.payments.abandon(batchId) else { return }
            try await s.audit.append(at: at, actor: actor, action: "batch_upload_abandoned", subject: "batch:\(batchId)", purpose: reason)
        }
    }

    func finishUpload(_ upload: Upload, actor: String) async throws -> UploadResult {
        try await upload.finish()
        let at = now
        let rejected = upload.rejected.sorted { $0.line < $1.line }
        let accepted = upload.accepted
        try await store.write { s in
            guard var b = try await s.payments.batch(upload.batchId, lock: true) else { return }
            b.status = .awaitingApproval
            b.rejectedCount = rejected.count
            try await s.payments.update(b)
            try await s.payments.insertRejections(batchId: b.id, rejected)
            try await s.audit.append(at: at, actor: actor, action: "batch_uploaded", subject: "batch:\(b.id)",
                                     purpose: "\(accepted) accepted, \(rejected.count) rejected")
        }
        return UploadResult(batchId: upload.batchId, accepted: accepted, rejected: rejected)
    }

    /// A chunk of lines with what can be worked out without the database: syntax, ids, blind indexes.
    struct PreparedChunk: Sendable {
        var rejected: [RejectedLine]
        var candidates: [BatchLine]
        var ids: [String]
        /// Blind index of each candidate's ID number → the ID number.
        var byIndex: [String: String]
    }

    func prepare(_ lines: [BatchLine]) -> PreparedChunk {
        let today = CalendarDay(clock.now())
        var rejected: [RejectedLine] = []
        var candidates: [BatchLine] = []
        for l in lines {
            if let reason = PayeeCheck.syntaxReason(l, today: today) { rejected.append(.init(line: l.line, reason: reason)) } else { candidates.append(l) }
        }
        var byIndex: [String: String] = [:]
        for l in candidates { byIndex[PaymentRepository.idIndex(l.idNumber, cipher: cipher)] = l.idNumber }
        return PreparedChunk(rejected: rejected, candidates: candidates, ids: candidates.map { _ in random.uuid7(at: now) }, byIndex: byIndex)
    }

    /// A chunk checked against the registry: the lines rejected so far and the payments to insert.
    struct CheckedChunk: Sendable { var rejected: [RejectedLine]; var payments: [Payment.New] }

    /// Checks a chunk of lines against the registry (a read, run while the chunk before is inserted). The person's
    /// card is checked again when the payment is executed, so a card that changes in between is still caught.
    fileprivate func check(_ chunk: PreparedChunk) async throws -> CheckedChunk {
        try await store.read { s in
            var bad = chunk.rejected
            let payees = try await s.payments.payees(byIndex: chunk.byIndex)
            // Whether a person died is asked once for the chunk: a reported death (any payee), or a card cancelled for
            // death (those without a live card).
            let deceased = try await s.payments.deceased(Set(payees.values.filter { $0.cardNumber == nil }.map(\.personId)))
                .union(try await s.pension.deaths(Set(payees.values.map(\.personId))))
            var seen = Set<Person.ID>()
            var out: [Payment.New] = []
            for (i, l) in chunk.candidates.enumerated() {
                guard let payee = payees[l.idNumber] else { bad.append(.init(line: l.line, reason: "person_not_found")); continue }
                let hasCard = payee.cardNumber != nil
                let facts = PayeeFacts(personFound: true, name: payee.name, hasFinancialAccount: payee.financial && payee.account != nil && payee.bankCode != nil,
                                       hasLiveCard: hasCard, deceased: deceased.contains(payee.personId),
                                       duplicateInBatch: seen.contains(payee.personId))
                if let reason = PayeeCheck.reason(l, facts: facts) { bad.append(.init(line: l.line, reason: reason)); continue }
                seen.insert(payee.personId)
                out.append(.init(id: chunk.ids[i], line: l.line, personId: payee.personId, amountFen: l.amountFen, bankCode: payee.bankCode!,
                                 account: payee.account!))
            }
            return CheckedChunk(rejected: bad, payments: out)
        }
    }

    /// Inserts a checked chunk as pending payments. A person already paid by an earlier chunk of the batch is found
    /// by the insert itself (the last check, `duplicate_line`).
    fileprivate func insert(_ chunk: CheckedChunk, batchId: PaymentBatch.ID) async throws -> (Int, [RejectedLine]) {
        let at = now
        let inserted = try await store.write { s in try await s.payments.insert(batchId: batchId, chunk.payments, at: at) }
        var bad = chunk.rejected
        for p in chunk.payments where !inserted.contains(p.personId) { bad.append(.init(line: p.line, reason: "duplicate_line")) }
        return (inserted.count, bad)
    }

    func batch(_ id: PaymentBatch.ID, lock: Bool = false) async throws -> PaymentBatch {
        guard let b = try await store.read({ try await $0.payments.batch(id) }) else {
            throw DomainError(.batchNotFound, "no batch \(id)")
        }
        return b
    }

    /// Four eyes: a second person approves (the uploader cannot).
    func approve(_ id: PaymentBatch.ID, actor: String) async throws -> PaymentBatch {
        let at = now
        return try await store.write { s in
            guard var b = try await s.payments.batch(id, lock: true) else { throw DomainError(.batchNotFound, "no batch \(id)") }
            b.status = try BatchStatus.approve(status: b.status, uploadedBy: b.uploadedBy, approver: actor)
            b.approvedBy = actor
            b.approvedAt = at
            try await s.payments.update(b)
            try await s.audit.append(at: at, actor: actor, action: "batch_approved", subject: "batch:\(id)", purpose: nil)
            return b
        }
    }

    /// Starts execution (the executor picks the batch up); repeating it changes nothing.
    func execute(_ id: PaymentBatch.ID, actor: String) async throws -> PaymentBatch {
        let at = now
        let batch = try await store.write { s in
            guard var b = try await s.payments.batch(id, lock: true) else { throw DomainError(.batchNotFound, "no batch \(id)") }
            let next = try BatchStatus.execute(status: b.status)
            if next != b.status {
                b.status = next
                try await s.payments.update(b)
                try await s.audit.append(at: at, actor: actor, action: "batch_executed", subject: "batch:\(id)", purpose: nil)
            }
            return b
        }
        paymentWork.signal()
        return batch
    }

    /// Failed and returned payments go again as new attempts, to the holder's account at that time.
    func retry(_ id: PaymentBatch.ID, actor: String) async throws -> Int {
        let at = now
        let n = try await store.write { s in
            guard var b = try await s.payments.batch(id, lock: true) else { throw DomainError(.batchNotFound, "no batch \(id)") }
            guard b.status == .executing || b.status == .completed else {
                throw DomainError(.batchNotExecuted, "only a batch that has been executed has payments to retry")
            }
            let n = try await s.payments.retry(batchId: id, at: at)
            if n > 0 {
                b.status = .executing
                b.completedAt = nil
                try await s.payments.update(b)
                try await s.audit.append(at: at, actor: actor, action: "batch_retried", subject: "batch:\(id)", purpose: "\(n) payments")
            }
            return n
        }
        paymentWork.signal()
        return n
    }

    /// A person's payments with their programme's id and name (for `/me/payments`, the page and the data export).
    func payments(personId: Person.ID) async throws -> [(Payment, Programme.ID, String)] {
        try await store.read { try await $0.payments.list(personId: personId) }
    }

    /// One page of a batch's payments, by line.
    func payments(batchId: PaymentBatch.ID, afterLine: Int, limit: Int) async throws -> [Payment] {
        try await store.read { try await $0.payments.list(batchId: batchId, afterLine: afterLine, limit: limit) }
    }

    /// The notices sent to a person.
    func notifications(personId: Person.ID) async throws -> [HolderNotice] {
        try await store.read { try await $0.payments.notifications(personId: personId) }
    }

    /// Every programme.
    func programmes() async throws -> [Programme] {
        try await store.read { try await $0.payments.programmes() }
    }

    /// A programme's batches with their counts and sums.
    func batchesWithTotals(programmeId: Programme.ID) async throws -> [(PaymentBatch, BatchTotals)] {
        try await store.read { s in
            var out: [(PaymentBatch, BatchTotals)] = []
            for b in try await s.payments.batches(programmeId: programmeId) { out.append((b, try await s.payments.totals(batchId: b.id))) }
            return out
        }
    }

    /// The lines a batch's upload rejected, and why.
    func rejections(batchId: PaymentBatch.ID) async throws -> [RejectedLine] {
        try await store.read { try await $0.payments.rejections(batchId: batchId) }
    }

    /// A batch's counts and sums by state.
    func totals(batchId: PaymentBatch.ID) async throws -> BatchTotals {
        try await store.read { try await $0.payments.totals(batchId: batchId) }
    }

    // MARK: CSV uploads

    /// A CSV upload is streamed, not collected; this caps it (about five million lines).
    static let maxCSVBytes = 256 * 1_048_576

    /// Streams a CSV body line by line into the upload; never collects it whole. The department's page sends the
    /// text it was given through here too, so both get the same checks and answers. An upload cut off part-way
    /// (the client went away, the body was too large) is marked abandoned, never left `uploading`.
    func upload<Body: AsyncSequence>(_ body: Body, programmeId: Programme.ID, actor: String, idempotencyKey: String?) async throws
        -> PaymentService.UploadResult where Body.Element == ByteBuffer {
        let state = CSVUpload()
        do {
            return try await upload(body, programmeId: programmeId, actor: actor, idempotencyKey: idempotencyKey, state: state)
        } catch {
            if let upload = state.upload { await abandonUpload(upload, actor: actor, reason: "\(error)") }
            throw error
        }
    }

    /// The upload a CSV request began, if any (to abandon it when the request fails).
    final class CSVUpload: @unchecked Sendable { var upload: PaymentService.Upload? }

    private func upload<Body: AsyncSequence>(_ body: Body, programmeId: Programme.ID, actor: String, idempotencyKey: String?, state: CSVUpload) async throws
        -> PaymentService.UploadResult where Body.Element == ByteBuffer {
        var csv = BatchCSV()
        var pending: [UInt8] = []
        var total = 0
        var upload: PaymentService.Upload?
        var earlier: PaymentService.UploadResult?
        func handle(_ bytes: ArraySlice<UInt8>) async throws {
            let parsed = try csv.parse(String(decoding: bytes, as: UTF8.self))
            switch parsed {
            case .header:
                switch try await beginUpload(programmeId: programmeId, actor: actor, idempotencyKey: idempotencyKey) {
                case .new(let u): upload = u; state.upload = u
                case .repeated(let r): earlier = r
                }
            case .blank: break
            case .line(let l): try await upload?.add(l)
            case .rejected(let r): upload?.reject(r)
            }
        }
        for try await buffer in body {
            total += buffer.readableBytes
            guard total <= Self.maxCSVBytes else { throw DomainError(.payloadTooLarge, "a CSV batch is limited to 256 MB") }
            if earlier != nil { continue }  // a repeated upload: read the body to its end, store nothing
            pending.append(contentsOf: buffer.readableBytesView)
            var start = pending.startIndex
            while let nl = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                try await handle(pending[start..<nl])
                start = nl + 1
            }
            pending.removeSubrange(pending.startIndex..<start)
        }
        if let earlier { return earlier }
        if !pending.isEmpty { try await handle(pending[...]) }
        if let earlier { return earlier }
        guard let upload else { throw DomainError(.invalidCsvHeader, "the first line must be idNumber,name,amountFen") }
        guard upload.lines > 0 else {
            throw DomainError(.emptyBatch, "the CSV has a header but no lines")
        }
        return try await finishUpload(upload, actor: actor)
    }
}
