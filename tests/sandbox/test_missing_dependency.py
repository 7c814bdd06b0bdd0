"""``sandbox.start`` imports an emulator lazily; a missing dependency of the sandbox (werkzeug, moving to
the ``trading-integrations[sandbox]`` extra) is a ConfigurationError that says what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

import integrations
from integrations import ConfigurationError, Host, PluginError, ProviderSpec, hookimpl, sandbox

MODULE = "integrations_selftest_emulator_needing_a_dependency"


def _host(emulator: str) -> Host:
    class Plugin:
        @hookimpl
        def integrations_register_providers(self, register: Any) -> None:
            register(
                ProviderSpec(
                    name="integrations_selftest_acme",
                    contours={"test": {"api": "https://acme.invalid"}},
                    credentials=(frozenset({"key"}),),
                    facade=integrations.ProviderClient,
                    emulator=emulator,
                )
            )

    return Host(plugins=(("integrations_selftest_acme", Plugin()),), load_entry_points=False)


@pytest.fixture
def emulator_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def write(source: str) -> None:
        (tmp_path / f"{MODULE}.py").write_text(textwrap.dedent(source))

    monkeypatch.syspath_prepend(str(tmp_path))
    yield write
    sys.modules.pop(MODULE, None)


def test_missing_werkzeug_names_the_extra(emulator_module):
    emulator_module("""
        raise ModuleNotFoundError("No module named 'werkzeug'", name="werkzeug")
    """)
    with pytest.raises(ConfigurationError) as info:
        sandbox.start("integrations_selftest_acme", host=_host(f"{MODULE}:Emulator"))
    assert str(info.value) == (
        "the integrations_selftest_acme sandbox needs 'werkzeug', which is not installed: pip install 'trading-integrations[sandbox]'"
    )
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    assert info.value.__cause__.name == "werkzeug"


def test_missing_submodule_of_another_dependency_names_its_distribution(emulator_module):
    emulator_module("""
        raise ModuleNotFoundError("No module named 'flask.json'", name="flask.json")
    """)
    with pytest.raises(ConfigurationError, match=r"needs 'flask', which is not installed: install 'flask'$"):
        sandbox.start("integrations_selftest_acme", host=_host(f"{MODULE}:Emulator"))


def test_a_broken_emulator_reference_is_a_plugin_error(emulator_module):
    emulator_module("class Emulator: pass\n")
    with pytest.raises(PluginError, match="cannot be imported") as info:
        sandbox.start(
            "integrations_selftest_acme", host=_host("integrations_selftest_no_such_emulator_module:Emulator")
        )
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    with pytest.raises(PluginError, match="names nothing"):
        sandbox.start("integrations_selftest_acme", host=_host(f"{MODULE}:NoSuchFactory"))


def test_a_missing_module_of_the_plugins_own_package_is_a_plugin_error(tmp_path, monkeypatch):
    package = tmp_path / "integrations_selftest_plugin_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "sandbox.py").write_text("from integrations_selftest_plugin_pkg import sandbox_data_renamed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with pytest.raises(PluginError, match="cannot be imported"):
            sandbox.start(
                "integrations_selftest_acme", host=_host("integrations_selftest_plugin_pkg.sandbox:Emulator")
            )
    finally:
        for name in [m for m in sys.modules if m.startswith("integrations_selftest_plugin_pkg")]:
            sys.modules.pop(name)


@pytest.mark.parametrize("provider", ["alor", "tradingdesk"])
def test_builtin_sandboxes_run_without_werkzeug(provider):
    # The built-in emulators are JsonApps on the standard WSGI environ: werkzeug is not needed.
    code = textwrap.dedent(f"""
        import sys
        sys.modules["werkzeug"] = None  # as if it were not installed
        from integrations import sandbox
        with sandbox.running({provider!r}) as sb:
            print(sorted(sb.base_urls))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # ALOR's WebSocket service (ws) runs when websockets (the streaming extra) is installed.
    assert result.stdout.strip() in ("['api', 'oauth']", "['api', 'oauth', 'ws']", "['api']")
