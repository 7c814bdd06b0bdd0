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
import threading

from integrations import hookimpl, ProviderSpec, ProviderClient, Request, Token, raise_for_status
from integrations.sandbox import Counts, JsonApp, route


class AcmeClient(ProviderClient):
    provider_name = "integrations_selftest_acme"

    def quote(self, symbol):
        return self.client.call(Request("GET", "/quote/" + symbol, operation="acme.quote")).json()


class AcmeApp(JsonApp):
    """Acme's emulator app: JsonApp does the routing, body draining, JSON and Bearer checks."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.generation = self.logins = 0

    @route("POST", "/token")
    def token(self, request):
        if request.json() != {"key": "acme-key"}:
            return self.json(403, {"error": "bad key"})
        with self.lock:
            self.logins += 1
            return self.json(200, {"access": f"acme-access-{self.generation}"})

    @route("GET", "/quote/{symbol}", auth=True)
    def quote(self, request):
        return self.json(200, {"symbol": request.params["symbol"], "price": 42})

    def check_bearer(self, token):
        with self.lock:
            return token if token == f"acme-access-{self.generation}" else None


class AcmeEmulator:
    """The Emulator protocol and the standard test controls (EmulatorControls)."""

    def __init__(self, seed=0, clock=None):
        self.app = AcmeApp()

    def wsgi_apps(self):
        return {"api": self.app}

    def credentials(self):
        return {"key": "acme-key"}

    def expire_access_tokens(self):
        with self.app.lock:
            self.app.generation += 1

    def revoke_refresh_tokens(self):
        pass  # Acme has no refresh tokens

    def counts(self):
        with self.app.lock:
            return Counts(logins=self.app.logins)


@hookimpl
def integrations_register_providers(register):
    register(ProviderSpec(name="integrations_selftest_acme", description="Acme test broker",
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
    raise_for_status("integrations_selftest_acme", response)
    return response
'''


@pytest.fixture
def acme_site(install_dist, monkeypatch):
    site = install_dist(
        "integrations_selftest_acme_dist",
        "[integrations]\nintegrations_selftest_acme = integrations_selftest_acme_plugin\n",
        {"integrations_selftest_acme_plugin": PLUGIN},
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("integrations_selftest_acme_plugin", None)


@pytest.fixture
def broken_site(install_dist, monkeypatch):
    site = install_dist(
        "integrations_selftest_broken_dist",
        "[integrations]\nintegrations_selftest_broken = integrations_selftest_broken_plugin\n",
        {
            "integrations_selftest_broken_plugin": "raise ImportError('this plugin needs a module that is not installed')\n"
        },
    )
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("integrations_selftest_broken_plugin", None)


def test_host_serves_an_installed_third_party_plugin(acme_site):
    host = Host(strict=True)
    info = host.providers()["integrations_selftest_acme"]
    assert (info.plugin, info.distribution, info.version) == (
        "integrations_selftest_acme",
        "integrations_selftest_acme_dist",
        "1.2.3",
    )
    assert "alor" in host.providers()  # the built-in plugin loads through the same group
    with (
        integrations.sandbox.running("integrations_selftest_acme", host=host) as sb,
        integrations.connect(
            "integrations_selftest_acme", base_urls=sb.base_urls, credentials=sb.credentials, host=host
        ) as client,
    ):
        assert client.quote("XYZ") == {"symbol": "XYZ", "price": 42}
        assert client.client.tokens.authentications == 1
        controls = integrations.sandbox.controls(sb.emulator)
        controls.expire_access_tokens()  # a 401, one renewal (a login: no refresh hook), one retry
        assert client.quote("ABC") == {"symbol": "ABC", "price": 42}
        assert controls.counts() == integrations.sandbox.Counts(logins=2)


def test_plugin_that_fails_to_import_is_reported_and_skipped(broken_site):
    host = Host(strict=False)
    assert "alor" in host.providers()
    (error,) = [e for e in host.load_errors if e.name == "integrations_selftest_broken"]
    assert error.distribution == "integrations_selftest_broken_dist"
    assert "not installed" in error.error


def test_strict_mode_raises_on_a_broken_plugin(broken_site, monkeypatch):
    monkeypatch.setenv("INTEGRATIONS_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="integrations_selftest_broken"):
        Host().providers()


def test_providers_command_shows_load_errors(broken_site, capsys):
    assert cli(["providers"], host=Host(strict=False)) == 0
    out = capsys.readouterr().out
    assert "alor: ALOR Broker" in out
    assert "load error: plugin 'integrations_selftest_broken'" in out


def test_duplicate_provider_name_is_an_error(install_dist, monkeypatch):
    clone = PLUGIN.replace('name="integrations_selftest_acme"', 'name="alor"')
    site = install_dist(
        "integrations_selftest_impostor_dist",
        "[integrations]\nintegrations_selftest_impostor = integrations_selftest_impostor_plugin\n",
        {"integrations_selftest_impostor_plugin": clone},
    )
    monkeypatch.syspath_prepend(str(site))
    try:
        with pytest.raises(PluginError, match="registered twice"):
            Host().providers()
    finally:
        sys.modules.pop("integrations_selftest_impostor_plugin", None)
