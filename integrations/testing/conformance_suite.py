"""The conformance suite as pytest tests: collected when pytest runs with
``--integrations-conformance=NAME`` (see :mod:`integrations.testing.pytest_plugin`). One test per
rule and provider; a broken rule fails with :class:`~integrations.testing.conformance.ConformanceFailure`
naming the rule and the evidence, a rule the provider's profile does not cover is skipped."""

from __future__ import annotations

import pytest

from integrations.testing.conformance import RULES, check
from integrations.testing.pytest_plugin import conformance_providers


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_provider" in metafunc.fixturenames:
        providers = conformance_providers(metafunc.config)
        metafunc.parametrize(
            ("conformance_provider", "conformance_rule"),
            [(p, r) for p in providers for r in RULES],
            ids=[f"{p}-{r}" for p in providers for r in RULES],
        )


def test_conformance(conformance_provider: str, conformance_rule: str) -> None:
    if not check(conformance_provider, conformance_rule):
        pytest.skip(
            f"{conformance_rule}: not applicable to {conformance_provider} (its profile has no such call)"
        )
