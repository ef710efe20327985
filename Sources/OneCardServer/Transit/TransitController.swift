import Foundation
import Hummingbird
import OneCardCore

/// Transit (API.md "Transit"): the card's transit function, operators and fare tables (admin), taps (terminals), the
/// holder's trips and the daily clearing (admin, auditor).
struct TransitController {
    let transit: TransitService
    let cards: CardService

    func register(_ api: API) {
        api.add(.post, "/api/v1/cards/{cardNumber}/functions",           roles: [.agent, .admin],   setCardFunctions)
        api.add(.post, "/api/v1/me/card/functions",                      roles: [.holder],          setMyCardFunctions)
        api.add(.post, "/api/v1/transit/operators",                      roles: [.admin],           createOperator)
        api.add(.get,  "/api/v1/transit/operators",                      roles: [.admin, .auditor], listOperators)
        api.add(.put,  "/api/v1/transit/operators/{code}/fare-table",    roles: [.admin],           addFareTable)
        api.add(.post, "/api/v1/transit/taps",                           roles: [.terminal],        uploadTaps)
        api.add(.get,  "/api/v1/me/trips",                               roles: [.holder],          myTrips)
        api.add(.get,  "/api/v1/transit/clearing",                       roles: [.admin, .auditor], clearing)
        api.add(.get,  "/api/v1/transit/interregion",                    roles: [.admin, .auditor], interRegion)
        api.add(.post, "/api/v1/transit/interregion/statements",         roles: [.admin],           sendStatement)
    }

    struct FunctionsInput: Decodable { let transit: Bool }

    // MARK: the card's functions

    var setCardFunctions: Handler {
        Handler("Load or remove a card's transit function (with a card event)",
                tag: "transit",
                request: .object([("transit", .boolean)], required: ["transit"]),
                success: (200, "The card", CardsController.CardView.schema),
                errors: [.cardNotFound, .invalidTransition, .notIssuer]) { request, context in
            let i = try await request.decodeJSON(as: FunctionsInput.self, context: context)
            let number = try CardNumber.existing(context.parameters.get("cardNumber") ?? "")
            return JSONResponse(CardsController.CardView(try await transit.setTransit(number, i.transit, actor: CardsController.actor(context))))
        }
    }

    var setMyCardFunctions: Handler {
        Handler("Load or remove my card's transit function",
                tag: "me",
                request: .object([("transit", .boolean)], required: ["transit"]),
                success: (200, "My card", CardsController.CardView.schema),
                errors: [.noCard, .invalidTransition, .notIssuer]) { request, context in
            let i = try await request.decodeJSON(as: FunctionsInput.self, context: context)
            guard let card = try await cards.liveCard(personId: context.identity!.personId!) else { throw DomainError(.noCard, "you hold no card") }
            return JSONResponse(CardsController.CardView(try await transit.setTransit(card.number, i.transit,
                                                                                       actor: CardsController.actor(context, channel: "web"))))
        }
    }

    // MARK: operators

    struct OperatorView: Encodable, Sendable {
        static let schema = Schema.named("TransitOperator", .object([
            ("code", .text), ("name", .text), ("regionCode", .text), ("mode", .oneOf(TransitMode.self)),
            ("account", .object([("bankCode", .text), ("accountMasked", .text)], required: ["bankCode", "accountMasked"])),
            ("fareTables", .array(Docs.fareTable)), ("createdAt", .dateTime),
        ], required: ["code", "name", "regionCode", "mode", "account", "fareTables", "createdAt"]))

        struct Account: Encodable, Sendable { let bankCode: String; let accountMasked: String }
        let code: String, name: String, regionCode: String, mode: String, account: Account, fareTables: [FareTable], createdAt: String
        init(_ o: TransitOperator) {
            code = o.code.rawValue; name = o.name; regionCode = o.regionCode; mode = o.mode.rawValue
            account = Account(bankCode: o.bankCode, accountMasked: Mask.account(o.accountNumber)); fareTables = o.fares.versions
            createdAt = Timestamp.format(o.createdAt)
        }
    }

    var createOperator: Handler {
        Handler("Register a transit operator with its settlement account and first fare table",
                tag: "transit",
                request: .object([
                    ("code", .string(pattern: "^[A-Za-z0-9_-]{1,40}$")), ("name", .line(100)), ("regionCode", .string(pattern: "^[0-9]{6}$")),
                    ("mode", .oneOf(TransitMode.self)),
                    ("account", .object([("bankCode", .text), ("accountNumber", .string(pattern: "^[0-9]{10,30}$"))], required: ["bankCode", "accountNumber"])),
                    ("fareTable", Docs.fareTable),
                ], required: ["code", "name", "regionCode", "mode", "account", "fareTable"]),
                success: (201, "The operator", OperatorView.schema),
                errors: [.operatorExists, .unknownBank, .invalidRegionCode, .invalidFareTable]) { request, context in
            let i = try await request.decodeJSON(as: TransitService.OperatorInput.self, context: context)
            return JSONResponse(OperatorView(try await transit.createOperator(i, by: context.identity!.actor)), status: .created)
        }
    }

    var listOperators: Handler {
        Handler("Transit operators with every version of their fare tables",
                tag: "transit",
                success: (200, "Operators", .object([("operators", .array(OperatorView.schema))], required: ["operators"]))) { _, _ in
            JSONResponse(["operators": try await transit.operators().map(OperatorView.init)])
        }
    }

    var addFareTable: Handler {
        Handler("Add a version of an operator's fare table (trips are priced by the version in force on the day they start)",
                tag: "transit",
                request: Docs.fareTable,
                success: (200, "The operator with the new version", OperatorView.schema),
                errors: [.operatorNotFound, .invalidTransition, .invalidFareTable]) { request, context in
            struct Probe: Decodable { let version: Int? }
            let buffer = try await request.collectBody(upTo: context.maxUploadSize)
            let table = try await request.decodeJSON(as: TransitService.FareTableInput.self, context: context)
            let explicit = (try? JSONDecoder().decode(Probe.self, from: Data(buffer: buffer)))?.version != nil
            return JSONResponse(OperatorView(try await transit.addFareTable(context.parameters.get("code") ?? "", table, explicitVersion: explicit,
                                                                            by: context.identity!.actor)))
        }
    }

    // MARK: taps

    var uploadTaps: Handler {
        Handler("Upload a gate's taps (a batch checked whole and recorded in one transaction; a repeated tapId is a duplicate, never a second charge)",
                tag: "transit",
                request: .object([("taps", .array(.object([
                    ("tapId", .string(pattern: "^[!-~]{1,100}$")), ("at", .dateTime),
                    ("operator", .string(pattern: "^[A-Za-z0-9_-]{1,40}$")), ("station", .line(60)), ("route", .line(60)),
                    ("distanceKm", .number(minimum: 0, maximum: 1000)), ("direction", .oneOf(TapDirection.self)),
                    ("credential", AcceptanceController.Docs.credential),
                ], required: ["tapId", "at", "operator", "direction", "credential"]), minItems: 1, maxItems: 1000))], required: ["taps"]),
                success: (200, "How many were taken, how many were already recorded, and which were rejected and why", .object([
                    ("accepted", .integer), ("duplicates", .integer),
                    ("rejected", .array(.object([("tapId", .text), ("reason", .string(values: Docs.rejections))], required: ["tapId", "reason"]))),
                ], required: ["accepted", "duplicates", "rejected"])),
                errors: [.unknownOperator, .venueNotPermitted, .venueNotFound, .federationUnavailable]) { request, context in
            struct Batch: Decodable { let taps: [TransitService.TapInput] }
            let batch = try await request.decodeJSON(as: Batch.self, context: context)
            let r = try await transit.recordTaps(terminal: context.identity!, batch.taps)
            struct Rejected: Encodable { let tapId: String; let reason: String }
            struct View: Encodable { let accepted: Int; let duplicates: Int; let rejected: [Rejected] }
            return try Response.json(View(accepted: r.accepted, duplicates: r.duplicates, rejected: r.rejected.map { Rejected(tapId: $0.tapId, reason: $0.reason) }))
        }
    }

    // MARK: trips and clearing

    struct TripView: Encodable, Sendable {
        static let schema = Schema.named("Trip", .object([
            ("tripId", .text), ("operator", .text), ("operatorName", .text), ("mode", .oneOf(TransitMode.self)), ("entry", .nullable(.text)),
            ("exit", .nullable(.text)), ("route", .nullable(.text)), ("startedAt", .dateTime), ("endedAt", .nullable(.dateTime)),
            ("distanceKm", .nullable(.number(minimum: 0, maximum: nil))), ("fullFareFen", .integer), ("cardDiscountFen", .integer),
            ("discounts", .array(.object([("kind", .string(values: ["transfer", "card", "monthly_tier"])), ("percent", .nullable(.integer)),
                                          ("amountFen", .integer), ("basis", .text)], required: ["kind", "amountFen", "basis"]))),
            ("concession", .nullable(.object([("code", .text), ("basis", .text), ("amountFen", .integer), ("percentOff", .integer)],
                                             required: ["code", "basis", "amountFen"]))),
            ("chargedFen", .integer), ("status", .string(values: ["priced", "charged", "unpaid", "disputed"])),
            ("basis", .oneOf(FareBasis.self)), ("fareVersion", .integer), ("serviceDay", .date), ("reason", .nullable(.text)),
        ], required: ["tripId", "operator", "entry", "exit", "startedAt", "endedAt", "distanceKm", "fullFareFen", "cardDiscountFen", "concession",
                      "chargedFen", "status"]))

        struct Concession: Encodable, Sendable { let code: String; let basis: String; let amountFen: Int; let percentOff: Int }
        let tripId: String, `operator`: String, operatorName: String?, mode: String, entry: String?, exit: String?, route: String?
        let startedAt: String, endedAt: String?, distanceKm: Double?, fullFareFen: Int, cardDiscountFen: Int, discounts: [AppliedDiscount]
        let concession: Concession?, chargedFen: Int, status: String, basis: String, fareVersion: Int, serviceDay: String, reason: String?

        init(_ t: TransitService.TripWithOperator) {
            let trip = t.trip, b = trip.breakdown
            tripId = trip.id; self.operator = trip.operatorCode.rawValue; operatorName = t.operatorName; mode = trip.mode.rawValue
            entry = trip.entryStation; exit = trip.exitStation; route = trip.route
            startedAt = Timestamp.format(trip.startedAt); endedAt = trip.endedAt.map(Timestamp.format)
            distanceKm = b.distanceMetres.map(Distance.km(metres:)); fullFareFen = b.fullFareFen; cardDiscountFen = b.operatorDiscountFen
            discounts = b.discounts
            concession = b.concession.map { Concession(code: $0.code, basis: $0.basis, amountFen: $0.amountFen, percentOff: $0.percentOff) }
            chargedFen = b.chargedFen; status = trip.status.shown.rawValue; basis = b.basis.rawValue; fareVersion = trip.fareVersion
            serviceDay = trip.serviceDay.description; reason = trip.reason
        }

        // Nulls are written out: the contract names every field.
        enum CodingKeys: String, CodingKey {
            case tripId, `operator`, operatorName, mode, entry, exit, route, startedAt, endedAt, distanceKm, fullFareFen, cardDiscountFen, discounts
            case concession, chargedFen, status, basis, fareVersion, serviceDay, reason
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tripId, forKey: .tripId); try c.encode(self.operator, forKey: .operator)
            try c.encodeIfPresent(operatorName, forKey: .operatorName); try c.encode(mode, forKey: .mode)
            try c.encode(entry, forKey: .entry); try c.encode(exit, forKey: .exit); try c.encode(route, forKey: .route)
            try c.encode(startedAt, forKey: .startedAt); try c.encode(endedAt, forKey: .endedAt); try c.encode(distanceKm, forKey: .distanceKm)
            try c.encode(fullFareFen, forKey: .fullFareFen); try c.encode(cardDiscountFen, forKey: .cardDiscountFen)
            try c.encode(discounts, forKey: .discounts); try c.encode(concession, forKey: .concession); try c.encode(chargedFen, forKey: .chargedFen)
            try c.encode(status, forKey: .status); try c.encode(basis, forKey: .basis); try c.encode(fareVersion, forKey: .fareVersion)
            try c.encode(serviceDay, forKey: .serviceDay); try c.encode(reason, forKey: .reason)
        }
    }

    var myTrips: Handler {
        Handler("My trips: entry, exit, distance, fare, discounts, concession with its basis, charge and status (newest first)",
                tag: "me",
                success: (200, "Trips", .object([("trips", .array(TripView.schema))], required: ["trips"]))) { _, context in
            JSONResponse(["trips": try await transit.trips(personId: context.identity!.personId!).map(TripView.init)])
        }
    }

    struct ClearingView: Encodable, Sendable {
        struct Totals: Encodable, Sendable {
            let trips: Int, fullFareFen: Int64, cardDiscountFen: Int64, concessionFen: Int64, chargedFen: Int64
            init(_ t: TripTotals) {
                trips = t.trips; fullFareFen = t.fullFareFen; cardDiscountFen = t.cardDiscountFen; concessionFen = t.concessionFen; chargedFen = t.chargedFen
            }
        }
        let `operator`: String, date: String, trips: Int, fullFareFen: Int64, cardDiscountFen: Int64, concessionFen: Int64, chargedFen: Int64
        let collectedFen: Int64, owedToOperatorFen: Int64, byStatus: [String: Totals]
        init(_ c: TransitClearing) {
            self.operator = c.operatorCode.rawValue; date = c.day.description; trips = c.total.trips; fullFareFen = c.total.fullFareFen
            cardDiscountFen = c.total.cardDiscountFen; concessionFen = c.total.concessionFen; chargedFen = c.total.chargedFen
            collectedFen = c.collectedFen; owedToOperatorFen = c.owedToOperatorFen
            byStatus = Dictionary(uniqueKeysWithValues: c.byStatus.map { ($0.key.rawValue, Totals($0.value)) })
        }
        static let totals = Schema.object([("trips", .integer), ("fullFareFen", .integer), ("cardDiscountFen", .integer), ("concessionFen", .integer),
                                           ("chargedFen", .integer)], required: ["trips", "fullFareFen", "cardDiscountFen", "concessionFen", "chargedFen"])
        static let schema = Schema.named("TransitClearing", .object([
            ("operator", .text), ("date", .date), ("trips", .integer), ("fullFareFen", .integer), ("cardDiscountFen", .integer),
            ("concessionFen", .integer), ("chargedFen", .integer), ("collectedFen", .integer), ("owedToOperatorFen", .integer),
            ("byStatus", .object(["priced", "charged", "unpaid", "disputed"].map { ($0, totals) }, required: [])),
        ], required: ["operator", "date", "trips", "fullFareFen", "cardDiscountFen", "concessionFen", "chargedFen", "collectedFen", "owedToOperatorFen"]))
    }

    // MARK: across provinces

    struct StatementView: Encodable, Sendable {
        struct Line: Encodable, Sendable {
            let rideRegion: String, issuerRegion: String, ridingSide: InterRegionStatement.Flow?, issuerSide: InterRegionStatement.Flow?
            let difference: InterRegionStatement.Flow?, reconciled: Bool
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(rideRegion, forKey: .rideRegion); try c.encode(issuerRegion, forKey: .issuerRegion)
                try c.encode(ridingSide, forKey: .ridingSide); try c.encode(issuerSide, forKey: .issuerSide)
                try c.encode(difference, forKey: .difference); try c.encode(reconciled, forKey: .reconciled)
            }
            private enum CodingKeys: String, CodingKey { case rideRegion, issuerRegion, ridingSide, issuerSide, difference, reconciled }
        }
        let date: String, region: String, counterpart: String, ours: InterRegionStatement.Side, theirs: InterRegionStatement.Side?
        let lines: [Line], reconciled: Bool
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(date, forKey: .date); try c.encode(region, forKey: .region); try c.encode(counterpart, forKey: .counterpart)
            try c.encode(ours, forKey: .ours); try c.encode(theirs, forKey: .theirs); try c.encode(lines, forKey: .lines)
            try c.encode(reconciled, forKey: .reconciled)
        }
        private enum CodingKeys: String, CodingKey { case date, region, counterpart, ours, theirs, lines, reconciled }
    }

    var interRegion: Handler {
        Handler("The inter-region transit statement of a service day with another province: this node's side computed now, the other's as it sent it, "
                + "and the difference per direction (riding side minus issuer side; zero when reconciled)",
                tag: "transit",
                query: [Docs.day, .init(name: "region", description: "the other province's code, e.g. 120000", schema: .string(pattern: "^[0-9]{6}$"),
                                        required: true)],
                success: (200, "Both sides and their difference", Docs.statement),
                errors: [.invalidTimeRange, .invalidRegionCode, .invalidValue]) { request, _ in
            let q = request.uri.queryParameters
            guard let raw = q.get("date"), let day = CalendarDay(raw) else { throw DomainError(.invalidTimeRange, "date: no such day") }
            let r = try await transit.interRegion(day: day, counterpart: q.get("region") ?? "")
            let lines = r.lines.map { StatementView.Line(rideRegion: $0.rideRegion, issuerRegion: $0.issuerRegion, ridingSide: $0.ridingSide,
                                                          issuerSide: $0.issuerSide, difference: $0.difference, reconciled: $0.reconciled) }
            return JSONResponse(StatementView(date: day.description, region: r.ours.region, counterpart: r.ours.counterpart, ours: r.ours, theirs: r.theirs,
                                              lines: lines, reconciled: lines.allSatisfy(\.reconciled)))
        }
    }

    var sendStatement: Handler {
        Handler("Compute this node's side of a day's inter-region transit statement with another province and send it there through the hub (signed)",
                tag: "transit",
                request: .object([("date", .date), ("region", .string(pattern: "^[0-9]{6}$"))], required: ["date", "region"]),
                success: (202, "The side sent", Docs.side),
                errors: [.invalidTimeRange, .invalidRegionCode, .invalidValue, .notFederated]) { request, context in
            struct Input: Decodable { let date: String; let region: String }
            let i = try await request.decodeJSON(as: Input.self, context: context)
            guard let day = CalendarDay(i.date) else { throw DomainError(.invalidTimeRange, "date: no such day") }
            return JSONResponse(try await transit.sendStatement(day: day, counterpart: i.region, by: context.identity!.actor), status: .accepted)
        }
    }

    var clearing: Handler {
        Handler("One operator's clearing for one service day (China Standard Time, by trip start): every trip once; concessions reported for subsidy",
                tag: "transit",
                query: [.init(name: "operator", description: "the operator's code", schema: .string(pattern: "^[A-Za-z0-9_-]{1,40}$"), required: true),
                        .init(name: "date", description: "the service day, YYYY-MM-DD (China Standard Time)",
                              schema: .string(format: "date", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), required: true)],
                success: (200, "The day's clearing", ClearingView.schema),
                errors: [.operatorNotFound, .invalidTimeRange]) { request, _ in
            let q = request.uri.queryParameters
            guard let code = q.get("operator") else { throw DomainError(.invalidValue, "operator: required") }
            guard let raw = q.get("date"), let day = CalendarDay(raw) else { throw DomainError(.invalidTimeRange, "date: no such day") }
            return JSONResponse(ClearingView(try await transit.clearing(operator: code, day: day)))
        }
    }

    enum Docs {
        static let day = QueryParameter(name: "date", description: "the service day, YYYY-MM-DD (China Standard Time)",
                                      schema: .string(format: "date", pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), required: true)
        static let flow = Schema.named("InterRegionFlow", .object([
            ("rideRegion", .text), ("issuerRegion", .text), ("trips", .integer), ("fullFareFen", .integer), ("cardDiscountFen", .integer),
            ("concessionFen", .integer), ("chargedFen", .integer), ("collectedFen", .integer),
        ], required: ["rideRegion", "issuerRegion", "trips", "fullFareFen", "cardDiscountFen", "concessionFen", "chargedFen", "collectedFen"]))
        static let side = Schema.named("InterRegionSide", .object([
            ("day", .date), ("region", .text), ("counterpart", .text), ("ridesHere", flow), ("ridesThere", flow), ("computedAt", .dateTime),
        ], required: ["day", "region", "counterpart", "ridesHere", "ridesThere", "computedAt"]))
        static let statement = Schema.named("InterRegionStatement", .object([
            ("date", .date), ("region", .text), ("counterpart", .text), ("ours", side), ("theirs", .nullable(side)),
            ("lines", .array(.object([("rideRegion", .text), ("issuerRegion", .text), ("ridingSide", .nullable(flow)), ("issuerSide", .nullable(flow)),
                                      ("difference", .nullable(flow)), ("reconciled", .boolean)],
                                     required: ["rideRegion", "issuerRegion", "ridingSide", "issuerSide", "difference", "reconciled"]))),
            ("reconciled", .boolean),
        ], required: ["date", "region", "counterpart", "ours", "theirs", "lines", "reconciled"]))

        static let rejections = DenialCode.allCases.map(\.rawValue) + [TapRejection.unknownStation, TapRejection.noFareTable, TapRejection.insufficientFunds,
                                                                   TapRejection.clockAhead]

        /// A fare table as API.md "Transit" gives it (`model` with its own fields, and the optional rules).
        static let fareTable = Schema.named("FareTable", .object([
            ("version", .integerIn(minimum: 1, maximum: nil)), ("effectiveFrom", .date), ("model", .string(values: ["flat", "distance_bands", "base_plus_step"])),
            ("stations", .anyObject),
            ("distances", .array(.object([("from", .text), ("to", .text), ("km", .number(minimum: 0, maximum: nil))], required: ["from", "to", "km"]))),
            ("fareFen", .integerIn(minimum: 0, maximum: nil)),
            ("bands", .array(.object([("upToKm", .number(minimum: 0, maximum: nil)), ("fareFen", .integerIn(minimum: 0, maximum: nil))],
                                     required: ["upToKm", "fareFen"]))),
            ("beyondStepKm", .number(minimum: 0, maximum: nil)), ("beyondStepFen", .integerIn(minimum: 0, maximum: nil)),
            ("baseKm", .number(minimum: 0, maximum: nil)), ("baseFen", .integerIn(minimum: 0, maximum: nil)),
            ("stepKm", .number(minimum: 0, maximum: nil)), ("stepFen", .integerIn(minimum: 0, maximum: nil)),
            ("cardDiscountPercent", .integerIn(minimum: 0, maximum: 100)), ("maxMinutesInside", .integerIn(minimum: 1, maximum: nil)),
            ("overstay", .object([("charge", .string(values: ["highest_fare_from_entry", "surcharge"])), ("surchargeFen", .integerIn(minimum: 0, maximum: nil))],
                                 required: ["charge"])),
            ("transfer", .object([("withinMinutes", .integerIn(minimum: 1, maximum: nil)), ("discountFen", .integerIn(minimum: 0, maximum: nil)),
                                  ("fromModes", .array(.oneOf(TransitMode.self), minItems: 1))], required: ["withinMinutes", "discountFen", "fromModes"])),
            ("monthlyTiers", .array(.object([("fromFen", .integerIn(minimum: 0, maximum: nil)), ("discountPercent", .integerIn(minimum: 0, maximum: 100))],
                                            required: ["fromFen", "discountPercent"]))),
            ("rounding", .oneOf(FenRounding.self)), ("source", .text), ("preset", .boolean),
        ], required: ["effectiveFrom", "model"]))
    }
}
