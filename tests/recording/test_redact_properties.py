"""Property: whatever the JSON shape, a secret under a secret key never survives redaction."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from integrations.recording import RecordingRules, Redactor

RULES = RecordingRules(secret_fields=("token", "password", "refresh_token"))
secrets = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=40)
keys = st.sampled_from(["token", "Token", "password", "refresh_token", "name", "data", "items"])
scalars = st.one_of(st.integers(), st.booleans(), st.none(), st.sampled_from(["x", "plain text"]))


@given(
    secret=secrets,
    data=st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=12,
    ),
    where=st.sampled_from(["token", "Token", "password", "refresh_token"]),
)
def test_secret_never_survives(secret, data, where):
    document = {"outer": [data, {"deep": {where: secret}}]}
    redactor = Redactor([RULES])
    out = redactor.body(json.dumps(document).encode(), "application/json").decode()
    assert secret not in out
    # Redaction is stable: the same input gives the same output.
    assert redactor.body(json.dumps(document).encode(), "application/json").decode() == out
