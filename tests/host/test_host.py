"""The host: built-ins through entry points, the hook contract, wrappers, and the meta-rules."""

from __future__ import annotations

import inspect
from typing import Any, List

import pytest

import integrations
from integrations import Host, PluginError, hookimpl, hookspecs
from integrations.cli import main as cli


def test_builtin_provider_is_loaded_through_the_entry_point_group():
    info = Host().providers()["alor"]
    assert info.plugin == "alor"
    assert info.distribution == "integrations"
    assert set(info.spec.contours) == {"test", "prod"}
    assert info.spec.contours["test"] == {"oauth": "https://oauthdev.alor.ru", "api": "https://apidev.alor.ru"}


def test_every_hook_is_documented_and_exercised_by_the_suite():
    specs = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("integrations_")]
    assert sorted(specs) == ["integrations_authenticate", "integrations_call", "integrations_refresh",
                             "integrations_register_providers"]
    for name in specs:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"


def test_public_api_is_explicit():
    for name in integrations.__all__:
        assert hasattr(integrations, name), name
    for name in ("connect", "hookimpl", "ValidationError", "Token", "ProviderSpec"):
        assert name in integrations.__all__


class AuditPlugin:
    """A cross-cutting plugin: wraps every call of every provider."""

    def __init__(self) -> None:
        self.seen: List[str] = []

    @hookimpl(wrapper=True)
    def integrations_call(self, ctx: Any, token: Any, request: Any) -> Any:
        self.seen.append(f"{ctx.provider}:{request.operation}:before")
        result = yield
        self.seen.append(f"{ctx.provider}:{request.operation}:{result.status}")
        return result


def test_wrapper_plugins_see_every_call(alor_sandbox, clock):
    audit = AuditPlugin()
    host = Host(plugins=(("audit", audit),))
    with integrations.connect("alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials,
                              clock=clock, host=host) as client:
        client.orderbook("MOEX", "SBER", depth=1)
    assert audit.seen == ["alor:alor.orderbook:before", "alor:alor.orderbook:200"]


class Silent:
    @hookimpl
    def integrations_register_providers(self, register: Any) -> None:
        register(integrations.ProviderSpec(name="silent", contours={"test": {"api": "https://silent.invalid"}},
                                           credentials=(frozenset({"key"}),), facade=integrations.ProviderClient))


def test_no_plugin_answering_a_hook_is_a_plugin_error(no_requests):
    host = Host(plugins=(("silent", Silent()),), load_entry_points=False)
    client = integrations.connect("silent", credentials={"key": "k"}, host=host)
    with pytest.raises(PluginError, match="integrations_authenticate"):
        client.client.call(integrations.Request("GET", "/x"))


def test_registering_something_else_than_a_spec_is_a_plugin_error():
    class Bad:
        @hookimpl
        def integrations_register_providers(self, register: Any) -> None:
            register({"name": "bad"})

    with pytest.raises(PluginError, match="not a ProviderSpec"):
        Host(plugins=(("bad", Bad()),), load_entry_points=False).providers()


def test_providers_command(capsys):
    assert cli(["providers"]) == 0
    out = capsys.readouterr().out
    assert "alor: ALOR Broker (REST + JWT)" in out
    assert "contour:  test: oauth=https://oauthdev.alor.ru, api=https://apidev.alor.ru" in out
    assert "plugin:   alor (integrations" in out
