"""``integrations new-provider NAME``: the plugin it writes installs from its own directory, and its
tests (recorded once against its emulator, then replayed) and the conformance suite pass.

The end-to-end test builds a fresh virtual environment, exactly as a plugin author would, so it is
marked ``realtime`` (it runs pip; CI's faketime pass skips it). The others check the command's
refusals in-process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.cli import main

REPO = Path(__file__).resolve().parents[2]
NAME = "acme_demo"
# Read at import, before the autouse fixture of tests/conftest.py drops the proxy variables: pip
# may need them to reach the package index.
_ENVIRON = dict(os.environ)


def _clean_environment() -> dict[str, str]:
    """The environment for the author's tools: none of this run's pytest, virtualenv or
    INTEGRATIONS_* settings (INTEGRATIONS_RECORD_MODE would change what the generated tests do)."""
    drop = ("INTEGRATIONS_", "PYTEST_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    env = {k: v for k, v in _ENVIRON.items() if not k.startswith(drop)}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_clean_environment(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _source_copy(destination: Path) -> Path:
    """What ``pip install <repo root>`` builds from, copied: building in place would leave ``build/``
    and egg-info directories in the working tree."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for directory in ("integrations", "plugins"):
        shutil.copytree(REPO / directory, destination / directory, ignore=ignore)
    for name in ("setup.cfg", "setup.py", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, destination / name)
    return destination


@pytest.mark.realtime
def test_the_generated_plugin_installs_and_its_tests_and_the_conformance_suite_pass(tmp_path):
    from integrations.testing.conformance import RULES

    project = tmp_path / "plugin"
    made = _run(
        [sys.executable, "-m", "integrations", "new-provider", NAME, "--path", str(project)], tmp_path, 60
    )
    assert made.returncode == 0, made.stderr
    assert (project / "pyproject.toml").is_file()

    venv = project / ".venv"
    created = _run([sys.executable, "-m", "venv", str(venv)], tmp_path, 120)
    assert created.returncode == 0, created.stderr
    library = _source_copy(tmp_path / "trading-integrations")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(library), f"{project}[test]"]
    installed = _run(pip, tmp_path, 600)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # The first run records every integrations_session test against the emulator (record mode
    # "once", from the project's own pytest configuration) and runs the conformance suite.
    first = _run([str(venv / "bin" / "pytest"), "-q", "-rA"], project, 300)
    output = first.stdout + first.stderr
    assert first.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) > 0, summary
    assert "failed" not in summary and "error" not in summary, summary
    for rule in RULES:
        ran = f"conformance_suite.py::test_conformance[{NAME}-{rule}]" in output
        skipped = f"{rule}: not applicable to {NAME}" in output
        assert ran or skipped, f"conformance rule {rule} did not run:\n{output}"
    for rule in ("lazy-authentication", "idempotent-retry", "secrets"):
        assert re.search(rf"PASSED \S*conformance_suite\.py::test_conformance\[{NAME}-{rule}\]", output), rule
    assert f"PASSED tests/test_{NAME}.py::test_quote" in output

    cassettes = sorted((project / "cassettes" / NAME / f"test_{NAME}").glob("*.yaml"))
    assert [c.name for c in cassettes] == [
        "test_quote.yaml",
        "test_the_same_idempotency_key_places_one_order.yaml",
        "test_unknown_symbol_is_not_found.yaml",
    ]
    recorded = {c: c.read_bytes() for c in cassettes}
    assert all(b"https://api.test.acme-demo.example/" in text for text in recorded.values())

    # The second run replays them offline (the sandbox is not started for them) and changes nothing.
    second = _run([str(venv / "bin" / "pytest"), "-q"], project, 300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(r"\d+ passed", second.stdout), second.stdout
    assert {c: c.read_bytes() for c in cassettes} == recorded

    checked = _run([str(venv / "bin" / "integrations"), "cassettes", "check", "cassettes"], project, 120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no secrets found" in checked.stdout

    # The templates are package data: the installed (non-editable) library writes plugins too, and
    # refuses the name of the plugin now installed.
    cli = str(venv / "bin" / "integrations")
    taken = _run([cli, "new-provider", NAME, "--path", str(tmp_path / "taken")], project, 60)
    assert taken.returncode == 2
    assert f"provider name '{NAME}' is taken" in taken.stderr
    other = tmp_path / "other"
    written = _run([cli, "new-provider", "globex_demo", "--path", str(other)], project, 60)
    assert written.returncode == 0, written.stdout + written.stderr
    assert sorted(p.name for p in other.rglob("*") if p.is_file()) == sorted(
        p.name.replace(NAME, "globex_demo")
        for p in project.rglob("*")
        if p.is_file() and _generated(p, project)
    )
    assert "class GlobexDemoEmulator(JsonApp):" in (other / "integrations_globex_demo/sandbox.py").read_text()


def _generated(path: Path, project: Path) -> bool:
    """A file new-provider wrote (not the virtualenv, caches or recordings made since)."""
    top = path.relative_to(project).parts[0]
    return (
        top not in (".venv", "cassettes", ".pytest_cache", "build")
        and "__pycache__" not in path.parts
        and ".egg-info" not in str(path)
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("9x", "invalid provider name '9x'"),
        ("a-b", "invalid provider name 'a-b'"),
        ("Acme", "invalid provider name 'Acme'"),
        ("a" * 25, "at most 24 characters"),
        ("class", "a Python keyword"),
        ("alor", "provider name 'alor' is taken"),
        ("tradingdesk", "provider name 'tradingdesk' is taken"),
    ],
)
def test_a_bad_or_taken_name_is_refused(tmp_path, capsys, name, message):
    target = tmp_path / "plugin"
    assert main(["new-provider", name, "--path", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("integrations new-provider: ")
    assert message in err
    assert not target.exists()


def test_a_directory_that_is_not_empty_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["new-provider", NAME, "--path", str(tmp_path)]) == 2
    assert f"{tmp_path} is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "plugin"
    target.write_text("")
    assert main(["new-provider", NAME, "--path", str(target)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


def test_the_plugin_is_written_to_the_default_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new-provider", "globex_two"]) == 0
    out = capsys.readouterr().out
    root = tmp_path / "integrations-globex-two"
    written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert written == [
        ".gitignore",
        "README.md",
        "integrations_globex_two/__init__.py",
        "integrations_globex_two/api.py",
        "integrations_globex_two/auth.py",
        "integrations_globex_two/conformance.py",
        "integrations_globex_two/demo.py",
        "integrations_globex_two/models.py",
        "integrations_globex_two/provider.py",
        "integrations_globex_two/py.typed",
        "integrations_globex_two/sandbox.py",
        "pyproject.toml",
        "tests/test_globex_two.py",
    ]
    assert "wrote the globex_two provider plugin to integrations-globex-two (13 files)" in out
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "{{" not in text, path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "integrations-globex-two"' in pyproject
    assert '[project.entry-points.integrations]\nglobex_two = "integrations_globex_two"' in pyproject
    assert "class GlobexTwoClient(ProviderClient):" in (root / "integrations_globex_two/api.py").read_text()
