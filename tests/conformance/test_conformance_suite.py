"""The conformance suite itself: it passes against both built-in plugins and a correct third-party
style plugin, and a plugin broken on purpose fails it with a message naming the broken rule."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from integrations.host import Host
from integrations.testing import conformance
from integrations.testing.conformance import RULES, ConformanceFailure, check


def _load_selftest_plugin() -> Any:
    # A module beside this one (the tests are not a package): loaded by path, once.
    name = "integrations_selftest_conformance_plugin"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("selftest_plugin.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


selftest_plugin = _load_selftest_plugin()
pytestmark = pytest.mark.realtime  # the deadline rule waits on a silent server for real

NOT_APPLICABLE = {("alor", "unsafe-not-retried"), ("tradingdesk", "idempotent-retry")}


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("provider", ["alor", "tradingdesk"])
def test_the_built_in_plugins_keep_every_rule(provider: str, rule: str) -> None:
    assert check(provider, rule) is ((provider, rule) not in NOT_APPLICABLE)


@pytest.fixture
def selftest() -> Iterator[Host]:
    selftest_plugin.BROKEN.clear()
    yield Host(plugins=(("integrations_selftest_conformance", selftest_plugin.Plugin()),))
    selftest_plugin.BROKEN.clear()


@pytest.mark.parametrize("rule", list(RULES))
def test_a_correct_third_party_plugin_keeps_every_rule(selftest: Host, rule: str) -> None:
    assert check(selftest_plugin.NAME, rule, host=selftest) is True


@pytest.mark.parametrize(
    ("broken", "rule", "evidence"),
    [
        ("single-flight", "single-flight", "renewals +16"),
        ("idempotency-key", "idempotent-retry", "executed 2 times"),
        ("recording-secret", "secrets", "the cassette holds a secret"),
        ("error-family", "error-mapping", "HTTP 400"),
    ],
)
def test_a_broken_plugin_fails_with_the_rule_it_breaks(
    selftest: Host, broken: str, rule: str, evidence: str
) -> None:
    selftest_plugin.BROKEN.add(broken)
    host = Host(plugins=(("integrations_selftest_conformance", selftest_plugin.Plugin()),))
    with pytest.raises(ConformanceFailure) as failure:
        check(selftest_plugin.NAME, rule, host=host)
    assert failure.value.rule == rule
    assert str(failure.value).startswith(f"[{rule}] ")
    assert evidence in str(failure.value), str(failure.value)


def test_a_broken_plugin_keeps_the_rules_it_does_not_break(selftest: Host) -> None:
    selftest_plugin.BROKEN.add("idempotency-key")
    assert check(selftest_plugin.NAME, "unsafe-not-retried", host=selftest) is True
    assert check(selftest_plugin.NAME, "lazy-authentication", host=selftest) is True


def test_a_provider_without_a_profile_is_told_what_to_declare(selftest: Host, monkeypatch) -> None:
    monkeypatch.setattr(selftest_plugin, "PROFILE", None)
    host = Host(plugins=(("integrations_selftest_conformance", selftest_plugin.Plugin()),))
    with pytest.raises(ConformanceFailure, match=r"^\[profile\] .*ProviderSpec.conformance"):
        check(selftest_plugin.NAME, "lazy-authentication", host=host)


def test_pytest_runs_the_suite_from_any_directory(tmp_path: Path) -> None:
    """``pytest --integrations-conformance=NAME`` in a directory with no tests of its own."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--integrations-conformance=tradingdesk",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"{len(RULES) - 1} passed, 1 skipped" in done.stdout, done.stdout[-2000:]
    assert conformance.__name__ == "integrations.testing.conformance"
