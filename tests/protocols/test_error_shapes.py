"""Declared error shapes: ``ErrorFields`` with dotted paths, candidates or a mapper, declared on
``ProviderSpec.errors`` and passed to ``raise_for_status``."""

from __future__ import annotations

import json
from typing import Any, Optional, Tuple

import pytest

import integrations
from integrations import ErrorFields, ProviderSpec, Response, errors, raise_for_status
from integrations.protocols.rest import error_fields

NESTED = ErrorFields(code=("code", "error.code"), message=("message", "error.message", "error"))


def _response(status: int, body: Any) -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status=status, headers={}, content=content, url="https://api.test/x", elapsed=0.0)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"error": {"code": "X", "message": "boom"}}, "X", "boom"),
        ({"error": "boom"}, None, "boom"),
        ({"code": "Y", "message": "flat"}, "Y", "flat"),
        ({"error": {"code": 42}}, "42", None),
    ],
)
def test_nested_and_flat_bodies_give_code_and_message(body: Any, code: Optional[str], message: str) -> None:
    with pytest.raises(errors.Rejected) as caught:
        raise_for_status("shapes", _response(400, body), fields=NESTED)
    assert (caught.value.code, caught.value.message) == (code, message or "HTTP 400")
    assert caught.value.status == 400


def test_the_status_still_picks_the_class() -> None:
    with pytest.raises(errors.NotFound) as caught:
        raise_for_status(
            "shapes", _response(404, {"error": {"code": "Gone", "message": "no such"}}), fields=NESTED
        )
    assert (caught.value.code, caught.value.message) == ("Gone", "no such")
    with pytest.raises(errors.ServiceUnavailable, match="shapes: HTTP 503: down"):
        raise_for_status("shapes", _response(503, {"error": "down"}), fields=NESTED)


def test_a_string_is_one_path_and_lists_are_indexed() -> None:
    fields = ErrorFields(code="errors.0.id", message="errors.0.detail")
    assert fields.code == ("errors.0.id",)
    body = {"errors": [{"id": "E1", "detail": "first"}, {"id": "E2", "detail": "second"}]}
    assert error_fields(_response(400, body), fields) == ("E1", "first")


def test_candidates_skip_objects_and_missing_keys() -> None:
    # "error" is an object here, not a message: the next candidate is tried.
    fields = ErrorFields(message=("error", "detail"))
    assert error_fields(_response(400, {"error": {"x": 1}, "detail": "why"}), fields) == (None, "why")
    assert error_fields(_response(400, b"not json"), NESTED) == (None, None)
    assert error_fields(_response(400, b""), NESTED) == (None, None)


def test_a_mapper_decides() -> None:
    seen = []

    def mapper(status: int, body: Any, text: str) -> Tuple[Optional[str], Optional[str]]:
        seen.append((status, body, text))
        if isinstance(body, dict):
            return str(body["errno"]), body["why"]
        return None, text or None

    fields = ErrorFields(mapper=mapper)
    with pytest.raises(errors.PermissionDenied) as caught:
        raise_for_status("shapes", _response(403, {"errno": 7, "why": "no"}), fields=fields)
    assert (caught.value.code, caught.value.message) == ("7", "no")
    with pytest.raises(errors.Rejected) as rejected:
        raise_for_status("shapes", _response(409, b"plain text refusal"), fields=fields)
    assert (rejected.value.code, rejected.value.message) == (None, "plain text refusal")
    assert seen[1] == (409, None, "plain text refusal")


def test_default_fields_are_unchanged() -> None:
    body = {"code": "OrderToCancelNotFound", "message": "Order to cancel not found"}
    assert error_fields(_response(400, body)) == ("OrderToCancelNotFound", "Order to cancel not found")
    assert error_fields(_response(400, body), None) == error_fields(_response(400, body), ErrorFields())
    # Only the declared keys are read: a nested body is not guessed at by default.
    assert error_fields(_response(400, {"error": {"code": "X", "message": "boom"}})) == (None, None)


def test_provider_spec_declares_error_fields() -> None:
    spec = ProviderSpec(
        name="integrations_selftest_shapes",
        contours={"test": {"api": "https://api.shapes.invalid"}},
        credentials=(frozenset({"key"}),),
        facade="x:y",
        errors=NESTED,
    )
    assert spec.errors is NESTED
    with pytest.raises(errors.Rejected, match="boom"):
        raise_for_status(spec.name, _response(400, {"error": "boom"}), fields=spec.errors)
    default = ProviderSpec(name="p", contours={}, credentials=(), facade="x:y")
    assert default.errors is None
    raise_for_status("p", _response(200, {}), fields=default.errors)


def test_exported() -> None:
    assert {"ErrorFields", "RecordingRules"} <= set(integrations.__all__)
    assert integrations.ErrorFields is ErrorFields


def test_alor_declares_its_fields() -> None:
    spec = integrations.default_host().provider("alor")
    assert spec.errors == ErrorFields(code="code", message="message")
