"""Schemathesis extensions for tests/test_api_fuzz.py (loaded via SCHEMATHESIS_HOOKS).

One check beyond schemathesis's own: a request the schema calls valid must never be
refused as malformed. The codes below mean "the shape of the request is wrong"; if
schema-valid data gets one, the schema promises more than the API accepts (a blank or
null it refuses, a pattern it does not state). Refusals on the merits (an unknown
transaction, a bad signature, a state conflict) have codes of their own and pass.
"""

import json

import schemathesis

UNKNOWN_FIELD = "Unknown field."  # config.serializers.RequestSerializer's refusal
SHAPE_CODES = frozenset(
    {
        "invalid",
        "malformed_request",
        "bad_request",
        "json_too_deep",
        "json_number_invalid",
        "text_invalid",
        "unsupported_media_type",
        "idempotency_key_invalid",
    }
)


@schemathesis.check
def schema_valid_requests_are_not_refused_as_malformed(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        error = json.loads(response.content)["error"]
        code = error["code"]
    except (ValueError, KeyError, TypeError):
        return None  # response_schema_conformance reports a body that is not the envelope
    details = error.get("details")
    if (
        isinstance(details, dict)
        and details
        and all(messages == [UNKNOWN_FIELD] for messages in details.values())
    ):
        # A field the schema does not declare (its properties are the serializer's
        # fields, additionalProperties false): the request was not schema-valid after
        # all; schemathesis adds fields it learnt from earlier answers.
        return None
    if code in SHAPE_CODES:
        raise AssertionError(
            f"A request valid by the schema was refused as {code!r}: the schema must say "
            f"what the API refuses. Body: {response.content[:500]!r}"
        )
    return None
