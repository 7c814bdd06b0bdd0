"""The README's tables of sandbox assumptions are the ones the emulators answer from."""

from __future__ import annotations

from pathlib import Path

from integrations_alor.sandbox import error_table_markdown
from integrations_tradingdesk.sandbox import assumptions_markdown

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_alor_error_table_is_the_emulators():
    assert error_table_markdown().strip() in README


def test_the_tradingdesk_assumptions_table_is_the_emulators():
    assert assumptions_markdown().strip() in README


def test_every_public_alor_method_is_in_the_readme():
    from integrations.client import ProviderClient
    from integrations_alor import AlorClient

    base = set(dir(ProviderClient))
    names = [n for n in dir(AlorClient) if not n.startswith("_") and n not in base]
    # Methods appear with their arguments (``name(``), properties as ``name``.
    missing = [
        n for n in names if f"{n}(" not in README and f"`{n}`" not in README and f"`alor.{n}`" not in README
    ]
    assert missing == [], f"README does not document: {missing}"
