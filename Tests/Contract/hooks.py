"""Schemathesis hooks for OneCard (loaded through SCHEMATHESIS_HOOKS by run_schemathesis.py).

`well_formed_requests_pass_form_checks` stands in for Schemathesis's own `positive_data_acceptance`. A request the
document calls valid may still be refused by a rule no schema can state — an ID number's check digit, a bank that
does not exist, a card that is not active, a purpose a holder's unmasked read needs — and OneCard answers those with a
domain code (`invalid_id_number`, `unknown_bank`, `purpose_required`, …). What a schema-valid request must never get is
a refusal of its *form*: the codes below. So the built-in check (which cannot tell the two apart) is excluded and this
one fails on exactly the form codes.
"""
import schemathesis

FORM_CODES = {"invalid_field", "invalid_value", "malformed_json", "unsupported_media_type", "payload_too_large", "bad_request"}


@schemathesis.check
def well_formed_requests_pass_form_checks(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (400, 413, 415, 422):
        return None
    try:
        code = response.json().get("code")
    except Exception:  # not problem+json: the status-code and content-type checks report it
        return None
    if code in FORM_CODES:
        detail = response.json().get("detail", "")
        raise AssertionError(f"a request the document calls valid was refused as malformed: {code} ({detail})")
    return None
