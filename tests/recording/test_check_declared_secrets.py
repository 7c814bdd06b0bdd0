"""``integrations cassettes check`` reads every installed provider's declared secrets
(``RecordingRules``) and their values in the environment, and scans each file's raw text too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

import integrations
from integrations import Host, ProviderSpec, RecordingRules, hookimpl
from integrations.cli import main
from integrations.recording.lint import DeclaredSecrets, check_cassette, check_paths, mask
from integrations.recording.redact import FAKE_SIGNATURE

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
NAME = "integrations_selftest_vault"
SECRET = "vault-api-secret-0123456789"
RULE = f"{NAME}: declared secret field 'api_secret'"
# A JWT whose signature is a real-looking one (not our fake "UkVEQUNURUQ").
REAL_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiZXhwIjoxOTAwMDAwMDAwfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
FAKE_JWT = REAL_JWT.rsplit(".", 1)[0] + "." + FAKE_SIGNATURE

RULES = RecordingRules(secret_headers=("X-Api-Secret",), secret_query=("sig",), secret_fields=("api_secret",))

PLUGIN = f'''
from integrations import ProviderClient, ProviderSpec, RecordingRules, hookimpl


@hookimpl
def integrations_register_providers(register):
    register(ProviderSpec(
        name="{NAME}",
        contours={{"test": {{"api": "https://api.vault.invalid"}}}},
        credentials=(frozenset({{"key"}}),),
        facade=ProviderClient,
        recording=RecordingRules(secret_fields=("api_secret",)),
    ))
'''


class VaultPlugin:
    @hookimpl
    def integrations_register_providers(self, register: Any) -> None:
        register(
            ProviderSpec(
                name=NAME,
                contours={"test": {"api": "https://api.vault.invalid"}},
                credentials=(frozenset({"key"}),),
                facade=integrations.ProviderClient,
                recording=RULES,
            )
        )


@pytest.fixture
def host() -> Host:
    """The built-in providers plus one declaring ``api_secret``."""
    return Host(plugins=((NAME, VaultPlugin()),))


@pytest.fixture(autouse=True)
def _no_credentials_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in list(os.environ):
        if variable.startswith("INTEGRATIONS_"):
            monkeypatch.delenv(variable)


def _interaction(
    request_body: Any, response_body: Any, *, uri: str = "https://api.vault.invalid/v1/x"
) -> Dict[str, Any]:
    return {
        "request": {
            "method": "POST",
            "uri": uri,
            "body": json.dumps(request_body),
            "headers": {"Content-Type": ["application/json"]},
        },
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"Content-Type": ["application/json"]},
            "body": {"string": json.dumps(response_body)},
        },
    }


def _cassette(tmp_path: Path, *interactions: Dict[str, Any], comment: str = "") -> Path:
    target = tmp_path / "planted.yaml"
    text = yaml.safe_dump(
        {"recorded_at": 1795327032.0, "version": 1, "interactions": list(interactions)}, sort_keys=False
    )
    target.write_text(comment + text)
    return target


def test_a_declared_field_is_found_without_secret(
    tmp_path: Path, host: Host, capsys: pytest.CaptureFixture[str]
) -> None:
    planted = _cassette(
        tmp_path,
        _interaction({"key": "REDACTED-key-1"}, {"data": {"items": [{"API_Secret": SECRET}]}}),
    )
    assert main(["cassettes", "check", str(planted)], host=host) == 1
    out = capsys.readouterr().out
    assert (
        f"{planted}: interaction 0: response.body.data.items[0].API_Secret: API_Secret value that is not a placeholder"
        in out
    )
    assert f"rule: {RULE}" in out
    assert f"value: {mask(SECRET)}" in out and "line " in out
    assert SECRET not in out and SECRET[:8] not in out  # never the secret itself
    # Without the provider installed, nothing in that file is secret-shaped.
    assert main(["cassettes", "check", str(planted)]) == 0


def test_declared_headers_query_and_form_fields(tmp_path: Path, host: Host) -> None:
    form = _interaction({}, {}, uri="https://api.vault.invalid/v1/x?sig=abcdef123456&page=2")
    form["request"]["headers"] = {
        "Content-Type": ["application/x-www-form-urlencoded"],
        "x-api-secret": [SECRET],
    }
    form["request"]["body"] = f"user=me&api_secret={SECRET}x"
    placeholders = _interaction(
        {"api_secret": "REDACTED-api_secret-1"},
        {"api_secret": FAKE_JWT, "nested": [{"api_secret": None}, {"api_secret": ""}]},
        uri="https://api.vault.invalid/v1/y?sig=REDACTED-sig-1",
    )
    planted = _cassette(tmp_path, form, placeholders)
    findings = check_cassette(planted, declared=DeclaredSecrets.from_host(host, environ={}))
    got = {(f.interaction, f.field, f.rule) for f in findings}
    assert got == {
        (0, "request.uri?sig", f"{NAME}: declared secret query parameter 'sig'"),
        (0, "request.headers.x-api-secret", f"{NAME}: declared secret header 'x-api-secret'"),
        (0, "request.body.api_secret", RULE),
    }
    lines = planted.read_text().splitlines()
    for finding in findings:
        assert finding.line is not None and finding.preview[:2] in lines[finding.line - 1]
        assert SECRET not in str(finding)


def test_a_value_from_the_environment_is_found_anywhere(
    tmp_path: Path, host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The names connect() and the recorder read: INTEGRATIONS_<PROVIDER>_<FIELD>.
    variable = host.provider(NAME).credential_variable("api_secret")
    assert variable == "INTEGRATIONS_INTEGRATIONS_SELFTEST_VAULT_API_SECRET"
    monkeypatch.setenv(variable, SECRET)
    monkeypatch.setenv(host.provider(NAME).credential_variable("key"), "vault-key-987654")
    planted = _cassette(
        tmp_path,
        _interaction({"note": f"echo {SECRET}"}, {"text": "ok"}),
        comment="# written by hand: vault-key-987654\n",
    )
    findings = check_paths([planted], declared=DeclaredSecrets.from_host(host))
    got = {(f.interaction, f.field, f.rule, f.line) for f in findings}
    (body_line,) = [n for n, line in enumerate(planted.read_text().splitlines(), 1) if SECRET in line]
    assert got == {
        (0, "request.body", f"{NAME}: the value of {variable}", body_line),
        (-1, "raw text", f"{NAME}: the value of INTEGRATIONS_INTEGRATIONS_SELFTEST_VAULT_KEY", 1),
    }


def test_a_jwt_in_a_yaml_comment_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = (CASSETTES / "alor" / "test_alor_replay").glob("*.yaml")
    text = next(iter(sorted(source))).read_text()
    lines = text.splitlines(keepends=True)
    lines.insert(3, f"    # debugging: the token was {REAL_JWT}\n")
    planted = tmp_path / "commented.yaml"
    planted.write_text("".join(lines))
    assert yaml.safe_load(planted.read_text()) == yaml.safe_load(text)  # the comment changes no data
    assert main(["cassettes", "check", str(planted)]) == 1
    out = capsys.readouterr().out
    assert (
        f"{planted}: raw text: a JWT with a real-looking signature (line 4; rule: generic: JWT; value: eyJh..."
        in out
    )
    assert REAL_JWT not in out and REAL_JWT.split(".")[2] not in out


def test_the_cli_finds_an_installed_providers_secret_in_a_subprocess(
    tmp_path: Path, install_dist: Any
) -> None:
    site = install_dist(
        "integrations_selftest_vault_dist",
        f"[integrations]\n{NAME} = integrations_selftest_vault_plugin\n",
        {"integrations_selftest_vault_plugin": PLUGIN},
    )
    planted = _cassette(
        tmp_path, _interaction({"api_secret": SECRET}, {"ok": True}), comment=f"# {REAL_JWT}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTEGRATIONS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    env["INTEGRATIONS_STRICT_PLUGINS"] = "1"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "integrations.cli", "cassettes", "check", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    found = run(str(planted))
    assert found.returncode == 1, found.stdout + found.stderr
    assert (
        f"{planted}: interaction 0: request.body.api_secret: api_secret value that is not a placeholder"
        in found.stdout
    )
    assert f"rule: {RULE}" in found.stdout
    assert "raw text: a JWT with a real-looking signature (line 1;" in found.stdout
    assert "2 finding(s)" in found.stdout
    assert SECRET not in found.stdout + found.stderr and REAL_JWT not in found.stdout + found.stderr
    clean = run("cassettes")
    assert (clean.returncode, clean.stdout.strip()) == (0, "no secrets found"), clean.stdout + clean.stderr


def test_committed_cassettes_are_clean(host: Host) -> None:
    declared = DeclaredSecrets.from_host(host, environ={})
    assert {"authorization", "x-api-secret"} <= set(declared.headers)
    assert declared.fields["token"] == ("alor", "tradingdesk")
    assert declared.fields["api_secret"] == (NAME,)
    assert check_paths([CASSETTES], declared=declared) == []


def test_mask_never_shows_more_than_a_quarter() -> None:
    assert mask("hunter2-correct-horse") == "hunt...(21 chars)"
    assert mask("abc") == "...(3 chars)"
    assert mask("abcdefgh") == "ab...(8 chars)"


@pytest.fixture
def unreadable(tmp_path: Path) -> Path:
    target = tmp_path / "broken.yaml"
    target.write_text("interactions: [\n")
    return target


def test_an_unreadable_file_is_a_finding(unreadable: Path) -> None:
    (finding,) = check_cassette(unreadable, declared=DeclaredSecrets())
    assert str(finding) == f"{unreadable}: file: cannot be read as a cassette: ParserError"


@pytest.mark.parametrize(("style", "width"), [(None, 80), ('"', 40), ("'", 40)])
def test_the_raw_scan_sees_no_secret_in_any_yaml_style(tmp_path: Path, style: Any, width: int) -> None:
    """Re-serialised as plain PyYAML would (folded lines, escaped quotes), the committed cassettes
    stay clean: the raw scan does not take a fragment of a fake JWT for a real one."""
    declared = DeclaredSecrets.from_host(environ={})
    for source in sorted(CASSETTES.rglob("*.yaml")):
        target = tmp_path / source.name
        target.write_text(
            yaml.safe_dump(yaml.safe_load(source.read_text()), default_style=style, width=width)
        )
        assert check_cassette(target, declared=declared) == [], source
