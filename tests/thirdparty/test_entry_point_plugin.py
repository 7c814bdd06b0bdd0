"""A plugin from outside the repo, installed through the ``integrations`` entry-point group by a
temporary dist-info on sys.path, is served by the host exactly like the built-in ones."""

from __future__ import annotations

import sys

import pytest

import integrations
from integrations import Host, PluginError
from integrations.cli import main as cli

PLUGIN = '''
"""A third-party provider: a key/value "broker" with its own emulator."""
import json
from integrations import hookimpl, ProviderSpec, ProviderClient, Request, Token, raise_for_status


class AcmeClient(ProviderClient):
    provider_name = "acme"

    def quote(self, symbol):
        return self.client.call(Request("GET", "/quote/" + symbol, operation="acme.quote")).json()


class AcmeEmulator:
    def __init__(self, seed=0, clock=None):
        self.clock = clock

    def wsgi_apps(self):
        def app(environ, start_response):
            ok = environ.get("HTTP_AUTHORIZATION") == "Bearer acme-access"
            if environ["PATH_INFO"] == "/token":
                body, status = json.dumps({"access": "acme-access"}).encode(), "200 OK"
            elif not ok:
                body, status = b"", "401 Unauthorized"
            else:
                body, status = json.dumps({"symbol": environ["PATH_INFO"].rsplit("/", 1)[1], "price": 42}).encode(), "200 OK"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return {"api": app}

    def credentials(self):
        return {"key": "acme-key"}


@hookimpl
def integrations_register_providers(register):
    register(ProviderSpec(name="acme", description="Acme test broker",
                          contours={"test": {"api": "https://api.acme.invalid"}},
                          credentials=(frozenset({"key"}),), facade=AcmeClient, emulator=AcmeEmulator))


@hookimpl
def integrations_authenticate(ctx, credentials):
    request = Request("POST", "/token", json=credentials, authenticated=False, operation="acme.token")
    return Token(access=ctx.call(request).json()["access"])


@hookimpl
def integrations_call(ctx, token, request, deadline):
    headers = {"Authorization": "Bearer " + token.access} if token else {}
    response = ctx.send(request, deadline, headers=headers)
    raise_for_status("acme", response)
    return response
'''


@pytest.fixture
def acme_site(install_dist, monkeypatch):
    site = install_dist("acme_integrations", "[integrations]\nacme = acme_plugin\n", {"acme_plugin": PLUGIN})
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("acme_plugin", None)


@pytest.fixture
def broken_site(install_dist, monkeypatch):
    site = install_dist(
        "broken_integrations",
        "[integrations]\nbroken = broken_plugin\n",
        {"broken_plugin": "raise ImportError('this plugin needs a module that is not installed')\n"},
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("broken_plugin", None)


def test_host_serves_an_installed_third_party_plugin(acme_site):
    host = Host(strict=True)
    info = host.providers()["acme"]
    assert (info.plugin, info.distribution, info.version) == ("acme", "acme_integrations", "1.2.3")
    assert "alor" in host.providers()  # the built-in plugin loads through the same group
    with (
        integrations.sandbox.running("acme", host=host) as sb,
        integrations.connect("acme", base_urls=sb.base_urls, credentials=sb.credentials, host=host) as client,
    ):
        assert client.quote("XYZ") == {"symbol": "XYZ", "price": 42}
        assert client.client.tokens.authentications == 1


def test_plugin_that_fails_to_import_is_reported_and_skipped(broken_site):
    host = Host(strict=False)
    assert "alor" in host.providers()
    (error,) = [e for e in host.load_errors if e.name == "broken"]
    assert error.distribution == "broken_integrations"
    assert "not installed" in error.error


def test_strict_mode_raises_on_a_broken_plugin(broken_site, monkeypatch):
    monkeypatch.setenv("INTEGRATIONS_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="broken"):
        Host().providers()


def test_providers_command_shows_load_errors(broken_site, capsys):
    assert cli(["providers"], host=Host(strict=False)) == 0
    out = capsys.readouterr().out
    assert "alor: ALOR Broker" in out
    assert "load error: plugin 'broken'" in out


def test_duplicate_provider_name_is_an_error(install_dist, monkeypatch):
    clone = PLUGIN.replace('name="acme"', 'name="alor"')
    site = install_dist(
        "impostor", "[integrations]\nimpostor = impostor_plugin\n", {"impostor_plugin": clone}
    )
    monkeypatch.syspath_prepend(str(site))
    try:
        with pytest.raises(PluginError, match="registered twice"):
            Host().providers()
    finally:
        sys.modules.pop("impostor_plugin", None)
