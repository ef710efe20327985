import Foundation

/// Every stable error code the platform answers with, one constant each: the code that throws and the
/// endpoint that documents it name the same constant, so `/openapi.json` lists exactly what handlers throw.
/// The HTTP status follows from the code's kind (OneCardServer/Support/Problem.swift).
extension DomainError.Code {
    // Requests and operations (any endpoint)
    public static let badRequest = Self("bad_request", .badRequest)
    public static let databaseUnavailable = Self("database_unavailable", .unavailable)
    public static let forbidden = Self("forbidden", .forbidden)
    public static let idempotencyKeyRequired = Self("idempotency_key_required", .badRequest)
    /// An Idempotency-Key already used by the caller for another step or another card.
    public static let idempotencyKeyReused = Self("idempotency_key_reused", .unprocessable)
    /// An optional Idempotency-Key that was sent empty or longer than 200 characters.
    public static let invalidIdempotencyKey = Self("invalid_idempotency_key", .unprocessable)
    public static let invalidField = Self("invalid_field", .unprocessable)
    public static let invalidValue = Self("invalid_value", .unprocessable)
    public static let malformedJson = Self("malformed_json", .badRequest)
    public static let notFound = Self("not_found", .notFound)
    public static let payloadTooLarge = Self("payload_too_large", .payloadTooLarge)
    public static let unauthorized = Self("unauthorized", .unauthorized)
    public static let unsupportedMediaType = Self("unsupported_media_type", .unsupportedMediaType)
    public static let methodNotAllowed = Self("method_not_allowed", .methodNotAllowed)
    public static let internalError = Self("internal_error", .internal)

    // Acceptance
    public static let invalidUscc = Self("invalid_uscc", .unprocessable)
    public static let itemNotForVenueType = Self("item_not_for_venue_type", .unprocessable)
    public static let itemNotInCatalogue = Self("item_not_in_catalogue", .unprocessable)
    public static let terminalNotFound = Self("terminal_not_found", .notFound)
    public static let venueNotFound = Self("venue_not_found", .notFound)
    public static let venueNotPermitted = Self("venue_not_permitted", .forbidden)

    // Auth
    public static let cannotDisableSelf = Self("cannot_disable_self", .conflict)
    public static let holderExists = Self("holder_exists", .conflict)
    public static let identityMismatch = Self("identity_mismatch", .unprocessable)
    public static let invalidCredentials = Self("invalid_credentials", .unauthorized)
    public static let invalidToken = Self("invalid_token", .unauthorized)
    /// Too many failed sign-ins for one account: locked for a while (429 with Retry-After).
    public static let tooManyAttempts = Self("too_many_attempts", .tooManyRequests)
    public static let userExists = Self("user_exists", .conflict)
    public static let userNotFound = Self("user_not_found", .notFound)

    // Banks
    public static let bankNotAccepting = Self("bank_not_accepting", .conflict)
    public static let bankNotFound = Self("bank_not_found", .notFound)
    public static let cardNotFound = Self("card_not_found", .notFound)
    public static let invalidSuccessor = Self("invalid_successor", .unprocessable)
    public static let migrationChoiceOpen = Self("migration_choice_open", .conflict)
    public static let migrationNotFound = Self("migration_not_found", .conflict)
    public static let successorNotActive = Self("successor_not_active", .conflict)
    public static let successorRequired = Self("successor_required", .unprocessable)
    public static let unknownBank = Self("unknown_bank", .unprocessable)

    // Cards
    public static let pickupOutletRequired = Self("pickup_outlet_required", .unprocessable)
    public static let activeCardExists = Self("active_card_exists", .conflict)
    public static let applicationInProgress = Self("application_in_progress", .conflict)
    public static let applicationNotFound = Self("application_not_found", .notFound)
    public static let cardNumberExhausted = Self("card_number_exhausted", .unavailable)
    public static let invalidCardNumber = Self("invalid_card_number", .unprocessable)
    public static let invalidPin = Self("invalid_pin", .unprocessable)
    public static let noCard = Self("no_card", .notFound)
    public static let notEligible = Self("not_eligible", .unprocessable)
    public static let notIssuer = Self("not_issuer", .conflict)
    public static let personNotFound = Self("person_not_found", .notFound)
    public static let unknownOutlet = Self("unknown_outlet", .unprocessable)

    // Catalogue
    public static let draftNotFound = Self("draft_not_found", .notFound)
    public static let duplicatesCatalogue = Self("duplicates_catalogue", .conflict)
    public static let invalidRegionCode = Self("invalid_region_code", .unprocessable)
    public static let nothingToPublish = Self("nothing_to_publish", .conflict)
    public static let versionNotFound = Self("version_not_found", .notFound)

    // ECard
    public static let cardNotActive = Self("card_not_active", .conflict)
    public static let noEcard = Self("no_ecard", .notFound)
    public static let qrEncodingFailed = Self("qr_encoding_failed", .unavailable)

    // Federation (RFC 9421 signed exchange between nodes and the hub; API.md "Federation")
    public static let nonceReplayed = Self("nonce_replayed", .unauthorized)
    public static let signatureExpired = Self("signature_expired", .unauthorized)
    public static let signatureInvalid = Self("signature_invalid", .unauthorized)
    public static let unknownMember = Self("unknown_member", .unauthorized)
    /// One person, one card nationwide: another province holds the person's live card or open application.
    public static let activeCardElsewhere = Self("active_card_elsewhere", .conflict)
    /// The hub or the issuing node did not answer a request that needs it now (forwarding, a foreign chip check).
    public static let federationUnavailable = Self("federation_unavailable", .unavailable)
    /// A federation message the receiver cannot act on (unknown kind, payload not as documented).
    public static let invalidMessage = Self("invalid_message", .unprocessable)
    /// The member may not call this (a cross-border partner issues no cards and claims no persons).
    public static let memberNotPermitted = Self("member_not_permitted", .forbidden)
    /// What only a node that has joined a hub has (the national trust list it mirrors).
    public static let notFederated = Self("not_federated", .notFound)
    /// A member region the hub does not know.
    public static let memberNotFound = Self("member_not_found", .notFound)

    // Audit
    /// A time that does not exist (month 13) or a window that ends before it starts.
    public static let invalidTimeRange = Self("invalid_time_range", .unprocessable)

    // Medical
    /// A medical settlement is reversed at most once (API.md "Medical settlement").
    public static let alreadyReversed = Self("already_reversed", .conflict)
    /// A temporary patients' cut beyond the national maxima (医保发〔2022〕22号: referral/emergency 10 points, other 20).
    public static let reductionBeyondMaximum = Self("reduction_beyond_national_maximum", .unprocessable)
    /// The patient has no insured record here (`PUT /medical/insureds/{personId}` first).
    public static let notInsured = Self("not_insured", .conflict)
    /// No policy (preset or an admin's) for the insured region, scheme and care.
    public static let medicalPolicyNotFound = Self("medical_policy_not_found", .conflict)
    /// The card or QR code presented for a settlement is refused (`reason`: the acceptance denial code).
    public static let credentialRefused = Self("credential_refused", .unprocessable)
    public static let settlementNotFound = Self("settlement_not_found", .notFound)
    /// A department user whose scope is not the one this needs (API.md "Entitlements and records").
    public static let scopeNotAllowed = Self("scope_not_allowed", .unprocessable)
    /// A pay-first share (先行自付) on an item that is not category B (乙类).
    public static let preselfpayOnlyForCategoryB = Self("preselfpay_only_for_category_b", .unprocessable)
    /// An employee without a personal account balance, or a resident with one (residents have no account).
    public static let accountNotForScheme = Self("account_not_for_scheme", .unprocessable)
    /// A bill whose lines add up to more than a bill may carry.
    public static let billTooLarge = Self("bill_too_large", .unprocessable)

    // OpenAPI

    // Pages
    public static let csrfFailed = Self("csrf_failed", .forbidden)

    // Payments
    public static let batchNotApproved = Self("batch_not_approved", .conflict)
    public static let batchNotExecuted = Self("batch_not_executed", .conflict)
    public static let batchNotFound = Self("batch_not_found", .notFound)
    public static let emptyBatch = Self("empty_batch", .unprocessable)
    public static let fourEyesRequired = Self("four_eyes_required", .conflict)
    public static let invalidCsvHeader = Self("invalid_csv_header", .unprocessable)
    public static let programmeNotFound = Self("programme_not_found", .notFound)
    public static let uploadInProgress = Self("upload_in_progress", .conflict)

    // Registry
    public static let bankExists = Self("bank_exists", .conflict)
    public static let invalidAgreementPeriod = Self("invalid_agreement_period", .unprocessable)
    public static let outletNotFound = Self("outlet_not_found", .notFound)
    public static let personExists = Self("person_exists", .conflict)
    public static let purposeRequired = Self("purpose_required", .badRequest)

    // Service (complaints, enforcement cases, credit records; API.md "Complaints, cases, credit, statistics")
    /// A day in a year the holiday calendar has no State Council notice for: deadlines are not guessed.
    public static let holidayCalendarNotCovered = Self("holiday_calendar_not_covered", .unavailable)
    /// A decision on a case without an earlier order to correct (GD art. 19: order first).
    public static let orderRequired = Self("order_required", .conflict)
    /// A fine for a case type the region's pack does not make fineable, or when the case is not serious.
    public static let fineNotAllowed = Self("fine_not_allowed", .unprocessable)
    /// A fine outside the pack's range (bounds inclusive).
    public static let fineOutOfRange = Self("fine_out_of_range", .unprocessable)
    /// A case about an act older than the limitation period (行政处罚法 art. 36).
    public static let limitationExpired = Self("limitation_expired", .unprocessable)
    /// A fine at or above the region's hearing threshold before the party was told of the right to a hearing
    /// and the 5 days to ask for it ran out (行政处罚法 arts. 63–64).
    public static let hearingRequired = Self("hearing_required", .conflict)
    /// A credit record's repair asked for before its minimum publicity period ended.
    public static let repairNotYetEligible = Self("repair_not_yet_eligible", .conflict)
    /// A credit record decided before the earliest publicity scheme in the data.
    public static let creditSchemeNotCovered = Self("credit_scheme_not_covered", .unprocessable)

    // Risk and incident (issue 17)
    public static let alertNotFound = Self("alert_not_found", .notFound)
    /// The alert was resolved before: its resolution and actions stand.
    public static let alertResolved = Self("alert_resolved", .conflict)
    /// The action does not fit the alert (no payment to hold, no terminal to suspend, nothing held to release).
    public static let actionNotApplicable = Self("action_not_applicable", .conflict)
    /// Incident mode: bulk exports and unmasked reads are frozen for everyone but the auditor.
    public static let incidentMode = Self("incident_mode", .forbidden)
    /// A terminal's or an address's requests came faster than its allowance (`Retry-After` says when to come back).
    public static let rateLimited = Self("rate_limited", .tooManyRequests)
    public static let consentNotFound = Self("consent_not_found", .notFound)
    public static let consentWithdrawn = Self("consent_withdrawn", .conflict)
    /// The processing needs the holder's consent, and none is in force.
    public static let consentRequired = Self("consent_required", .forbidden)
    /// A driving licence class that is not one printed on licences (准驾车型).
    public static let invalidLicenceClass = Self("invalid_licence_class", .unprocessable)
    /// A complaint assigned to someone who is no active agent, department or admin user (the body names them: 422, not
    /// 404, which would say the complaint itself is missing).
    public static let assigneeNotFound = Self("assignee_not_found", .unprocessable)
    /// No correction or deletion request with that id (of this holder's, for a holder).
    public static let dataRequestNotFound = Self("data_request_not_found", .notFound)
    /// A correction or deletion request decided already.
    public static let requestDecided = Self("request_decided", .conflict)
    /// Data the platform must keep while the card exists (PIPL art. 47 ¶1): a deletion request for it is refused at once.
    public static let notDeletable = Self("not_deletable", .unprocessable)
    /// A correction of the name, phone or address without the right value.
    public static let valueRequired = Self("value_required", .unprocessable)
    /// The value a correction brings is not a valid name, phone number or address.
    public static let valueInvalid = Self("value_invalid", .unprocessable)
    /// A refusal without its reasons (PIPL art. 50).
    public static let noteRequired = Self("note_required", .unprocessable)
    /// A password guessers try first (`Credentials.validate(password:)`).
    public static let weakPassword = Self("weak_password", .unprocessable)
    // MARK: Service (issue 16: complaints, cases, calendar, credit feed, statistics)
    public static let complaintNotFound = Self("complaint_not_found", .notFound)
    public static let caseNotFound = Self("case_not_found", .notFound)
    /// A complaint tied to a use that is not one of the complainant's (or no such use).
    public static let useNotFound = Self("use_not_found", .notFound)
    /// A holiday calendar year that does not validate (dates outside the year, overlaps, make-up days not on weekends).
    public static let invalidHolidayCalendar = Self("invalid_holiday_calendar", .unprocessable)
    /// A complaint's `receivedAt` later than now, or a case's dates out of order.
    public static let invalidReceivedAt = Self("invalid_received_at", .unprocessable)
    /// A payment on a case that has no fine to pay (not decided, or decided without a fine).
    public static let nothingToPay = Self("nothing_to_pay", .conflict)
    // Transit (operators, fare tables, taps; API.md "Transit")
    public static let operatorExists = Self("operator_exists", .conflict)
    public static let operatorNotFound = Self("operator_not_found", .notFound)
    /// A tap names an operator this node does not know: the batch is refused whole (a gate set up wrongly).
    public static let unknownOperator = Self("unknown_operator", .unprocessable)
    /// A fare table that cannot price every trip consistently, or lacks a field its `model` needs.
    public static let invalidFareTable = Self("invalid_fare_table", .unprocessable)
    // Certificates (issue 15: elderly, disability and veteran certificates as entitlements)
    /// A disability certificate without its category (1–7) and grade (1–4), or those given for another kind.
    public static let certificateDetailsInvalid = Self("certificate_details_invalid", .unprocessable)
    /// A disability certificate number that is not the holder's ID number followed by the category and grade digits.
    public static let certificateNumberMismatch = Self("certificate_number_mismatch", .unprocessable)
    /// A certificate whose `validTo` is before its `validFrom`.
    public static let certificateValidityInvalid = Self("certificate_validity_invalid", .unprocessable)
    public static let certificateNotFound = Self("certificate_not_found", .notFound)
    /// The certificate was revoked already.
    public static let certificateRevoked = Self("certificate_revoked", .conflict)

    // Codes of other platforms (multi-code fusion)
    public static let codeIssuerExists = Self("code_issuer_exists", .conflict)
    public static let codeIssuerNotFound = Self("code_issuer_not_found", .notFound)
    /// A JWKS that holds no usable Ed25519 signing key, or keys without distinct kids.
    public static let invalidJwks = Self("invalid_jwks", .unprocessable)
    /// A partner's token that does not prove the account: bad signature, wrong issuer, expired, too long-lived.
    public static let partnerTokenInvalid = Self("partner_token_invalid", .unprocessable)
    /// The partner account is linked to another person's card, or this person already linked another account there.
    public static let codeAlreadyLinked = Self("code_already_linked", .conflict)
    public static let linkedCodeNotFound = Self("linked_code_not_found", .notFound)

    // Medical claims
    public static let claimNotFound = Self("claim_not_found", .notFound)
    /// The claim was decided already: decided once, paid once.
    public static let claimDecided = Self("claim_decided", .conflict)
    // HR&SS electronic file library (issue 15)
    public static let recordNotFound = Self("record_not_found", .notFound)
    /// A labour contract without its employer or start, or contract terms on a record of another type.
    public static let contractTermsRequired = Self("contract_terms_required", .unprocessable)
    /// The worker already countersigned this contract.
    public static let contractAlreadySigned = Self("contract_already_signed", .conflict)
    /// A record-share link that is not one this node made (changed, cut short, or its share gone).
    public static let shareLinkInvalid = Self("share_link_invalid", .notFound)
    /// A record-share link past its end, or whose consent the holder withdrew.
    public static let shareLinkExpired = Self("share_link_expired", .forbidden)

    // Family service (issue 15)
    /// The holder's pending and active relatives reached the region's limit.
    public static let relativesLimit = Self("relatives_limit", .conflict)
    /// The ID number and name given do not together match a registered person other than the holder (which one is not said).
    public static let relativeNotMatched = Self("relative_not_matched", .unprocessable)
    /// A pending or active link to that relative exists already.
    public static let relativeExists = Self("relative_exists", .conflict)
    /// No such link of the caller's (or no active link to that person, for acting on their behalf).
    public static let relativeLinkNotFound = Self("relative_link_not_found", .notFound)

    // Pension qualification check (issue 15)
    /// The person receives no pension here (no payment of a `pension` programme was ever sent to them).
    public static let pensionNotFound = Self("pension_not_found", .notFound)
    /// A death is recorded for the person: nothing can confirm them alive, and a second report names another day.
    public static let personDeceased = Self("person_deceased", .conflict)
    /// A reported day of death in the future or before the person's birth.
    public static let invalidDeathDate = Self("invalid_death_date", .unprocessable)

    // Statistics
    /// The oversight report is printed by headless Chromium, which this node lacks (or which failed).
    public static let reportRendererUnavailable = Self("report_renderer_unavailable", .unavailable)
    // Products and bills on the card (Beijing Minsheng art. 2)
    public static let billerExists = Self("biller_exists", .conflict)
    public static let billerNotFound = Self("biller_not_found", .notFound)
    /// The card's account holds less than the bill or the product costs: nothing was taken.
    public static let insufficientFunds = Self("insufficient_funds", .conflict)
    /// The card's bank did not answer: the payment stays recorded as under way and a repeat (the same Idempotency-Key,
    /// or the same pass) asks the bank again under the same debit id, so nothing is taken twice.
    public static let bankUnavailable = Self("bank_unavailable", .unavailable)
    public static let productNotFound = Self("product_not_found", .notFound)
    /// A pass of that product for that year exists (bought, or being paid).
    public static let passExists = Self("pass_exists", .conflict)
    /// Passes are sold for the current year and the next only.
    public static let passYearNotOffered = Self("pass_year_not_offered", .unprocessable)

    // Support
    public static let invalidIdNumber = Self("invalid_id_number", .unprocessable)
    public static let invalidTransition = Self("invalid_transition", .conflict)

    /// Every code, for tests and the message table.
    public static let all: [Self] = [
        .invalidAgreementPeriod, .pickupOutletRequired,
        .badRequest,
        .databaseUnavailable, .forbidden, .idempotencyKeyRequired, .idempotencyKeyReused, .invalidField, .invalidValue, .malformedJson,
        .notFound, .payloadTooLarge, .unauthorized, .unsupportedMediaType, .methodNotAllowed, .internalError,
        .invalidUscc, .itemNotForVenueType, .itemNotInCatalogue, .terminalNotFound, .venueNotFound, .venueNotPermitted,
        .cannotDisableSelf, .holderExists, .identityMismatch, .invalidCredentials, .invalidToken, .userExists,
        .userNotFound, .bankNotAccepting, .bankNotFound, .cardNotFound, .invalidSuccessor, .migrationChoiceOpen,
        .migrationNotFound, .successorNotActive, .successorRequired, .unknownBank, .activeCardExists, .applicationInProgress,
        .applicationNotFound, .cardNumberExhausted, .invalidCardNumber, .invalidPin, .noCard, .notEligible,
        .notIssuer, .personNotFound, .unknownOutlet, .draftNotFound, .duplicatesCatalogue, .invalidRegionCode,
        .nothingToPublish, .versionNotFound, .cardNotActive, .noEcard, .qrEncodingFailed,
        .nonceReplayed, .signatureExpired, .signatureInvalid, .unknownMember, .activeCardElsewhere, .federationUnavailable,
        .invalidMessage, .memberNotPermitted, .memberNotFound, .notFederated, .invalidTimeRange, .tooManyAttempts, .csrfFailed,
        .batchNotApproved, .batchNotExecuted, .batchNotFound, .emptyBatch, .fourEyesRequired, .invalidCsvHeader,
        .programmeNotFound, .uploadInProgress, .bankExists, .outletNotFound, .personExists, .purposeRequired,
        .invalidIdNumber, .invalidTransition, .alreadyReversed,
        .holidayCalendarNotCovered, .orderRequired, .fineNotAllowed, .fineOutOfRange, .limitationExpired, .hearingRequired,
        .repairNotYetEligible, .creditSchemeNotCovered,
        .alertNotFound, .alertResolved, .actionNotApplicable, .incidentMode, .rateLimited, .weakPassword, .consentNotFound, .consentWithdrawn, .consentRequired, .invalidLicenceClass, .assigneeNotFound,
        .dataRequestNotFound, .requestDecided, .notDeletable, .valueRequired, .valueInvalid, .noteRequired, .invalidIdempotencyKey,
        .complaintNotFound, .caseNotFound, .useNotFound, .invalidHolidayCalendar, .invalidReceivedAt, .nothingToPay,
        .reductionBeyondMaximum, .notInsured, .medicalPolicyNotFound, .credentialRefused, .settlementNotFound, .scopeNotAllowed,
        .preselfpayOnlyForCategoryB, .accountNotForScheme, .billTooLarge,
        .operatorExists, .operatorNotFound, .unknownOperator, .invalidFareTable,
        .codeIssuerExists, .codeIssuerNotFound, .invalidJwks, .partnerTokenInvalid, .codeAlreadyLinked, .linkedCodeNotFound,
        .reportRendererUnavailable, .claimNotFound, .claimDecided,
        .certificateDetailsInvalid, .certificateNumberMismatch, .certificateValidityInvalid, .certificateNotFound, .certificateRevoked,
        .billerExists, .billerNotFound, .insufficientFunds, .bankUnavailable, .productNotFound, .passExists, .passYearNotOffered,
        .reportRendererUnavailable,
        .recordNotFound, .contractTermsRequired, .contractAlreadySigned, .shareLinkInvalid, .shareLinkExpired,
        .relativesLimit, .relativeNotMatched, .relativeExists, .relativeLinkNotFound,
        .pensionNotFound, .personDeceased, .invalidDeathDate,
    ]
}
