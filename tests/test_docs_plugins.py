"""docs/plugins.md, the plugin authors' reference, documents every public name and every hook."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

import integrations
from integrations import hookspecs
from integrations.testing.conformance import RULES

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _code_spans(text: str) -> set[str]:
    return {re.split(r"[(\s=]", span, maxsplit=1)[0] for span in re.findall(r"`([^`\n]+)`", text)}


def test_every_public_name_is_documented() -> None:
    spans = _code_spans(_text())
    missing = [name for name in integrations.__all__ if name not in spans]
    assert missing == [], f"docs/plugins.md does not mention: {missing}"


def test_every_hook_has_a_section_with_its_arguments() -> None:
    text = _text()
    hooks = [name for name in dir(hookspecs) if name.startswith("integrations_")]
    assert len(hooks) == 4
    for hook in hooks:
        heading = re.search(rf"^### `{hook}\(([^)]*)\)", text, flags=re.MULTILINE)
        assert heading, f"no section for {hook}"
        documented = [a.strip() for a in heading.group(1).split(",") if a.strip()]
        actual = list(
            getattr(hookspecs, hook).__code__.co_varnames[: getattr(hookspecs, hook).__code__.co_argcount]
        )
        assert documented == actual, hook


def test_every_provider_spec_field_and_conformance_rule_is_documented() -> None:
    text = _text()
    spans = _code_spans(text)
    fields = [f.name for f in attrs.fields(integrations.ProviderSpec)]
    assert [f for f in fields if f not in spans] == []
    rules = [f for f in attrs.fields(integrations.RecordingRules)]
    assert [r.name for r in rules if r.name not in spans] == []
    assert [rule for rule in RULES if f"| `{rule}` |" not in text] == []


def test_the_readme_links_the_reference() -> None:
    readme = (DOC.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "docs/plugins.md" in readme
