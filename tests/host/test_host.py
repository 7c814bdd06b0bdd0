"""The host: built-ins through entry points, the hook contract, wrappers, and the meta-rules."""

from __future__ import annotations

import inspect
from typing import Any, Callable, List, Tuple

import pytest

import integrations
from integrations import Host, PluginError, hookimpl, hookspecs
from integrations.cli import main as cli


def test_builtin_provider_is_loaded_through_the_entry_point_group():
    info = Host().providers()["alor"]
    assert info.plugin == "alor"
    assert info.distribution == "trading-integrations"
    assert set(info.spec.contours) == {"test", "prod"}
    assert info.spec.contours["test"] == {
        "oauth": "https://oauthdev.alor.ru",
        "api": "https://apidev.alor.ru",
        "ws": "wss://apidev.alor.ru/ws",
    }


def test_every_hook_is_documented_and_exercised_by_the_suite():
    specs = [
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("integrations_")
    ]
    assert sorted(specs) == [
        "integrations_authenticate",
        "integrations_call",
        "integrations_refresh",
        "integrations_register_providers",
    ]
    for name in specs:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"


def test_public_api_is_explicit():
    for name in integrations.__all__:
        assert hasattr(integrations, name), name
    for name in ("connect", "hookimpl", "ValidationError", "Token", "ProviderSpec"):
        assert name in integrations.__all__


class AuditPlugin:
    """A cross-cutting plugin: wraps every exchange of every provider."""

    def __init__(self) -> None:
        self.seen: List[str] = []

    @hookimpl(wrapper=True)
    def integrations_call(self, ctx: Any, token: Any, request: Any, deadline: Any) -> Any:
        self.seen.append(f"{ctx.provider}:{request.operation}:before")
        result = yield
        self.seen.append(f"{ctx.provider}:{request.operation}:{getattr(result, 'status', 'ok')}")
        return result


def test_wrapper_plugins_see_every_exchange_the_refresh_included(alor_sandbox, clock):
    audit = AuditPlugin()
    host = Host(plugins=(("integrations_selftest_audit", audit),))
    with integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials, clock=clock, host=host
    ) as client:
        client.orderbook("MOEX", "SBER", depth=1)
    assert audit.seen == [
        "alor:alor.refresh:before",
        "alor:alor.refresh:200",
        "alor:alor.orderbook:before",
        "alor:alor.orderbook:200",
    ]


def _plugins_called(host: Host, run: Callable[[], Any]) -> List[Tuple[str, Tuple[str, ...]]]:
    """Run ``run()`` and return, for each provider hook call, the hook and the plugins it reached."""
    calls: List[Tuple[str, Tuple[str, ...]]] = []

    def before(hook_name: str, impls: Any, kwargs: Any) -> None:
        if hook_name != "integrations_register_providers":
            calls.append((hook_name, tuple(sorted(impl.plugin_name for impl in impls))))

    undo = host.plugin_manager.add_hookcall_monitoring(before, lambda *args: None)
    try:
        run()
    finally:
        undo()
    return calls


def test_each_provider_hook_reaches_only_its_own_plugin_and_the_wrappers(alor_sandbox, td_sandbox, clock):
    host = Host(plugins=(("integrations_selftest_audit", AuditPlugin()),))
    alor = integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials, clock=clock, host=host
    )
    td = integrations.connect(
        "tradingdesk",
        base_urls=td_sandbox.base_urls,
        credentials=td_sandbox.credentials,
        clock=clock,
        host=host,
    )
    with alor, td:
        alor_calls = _plugins_called(host, lambda: alor.orderbook("MOEX", "SBER", depth=1))
        td_calls = _plugins_called(host, td.campaigns)
    assert alor_calls == [
        ("integrations_authenticate", ("alor",)),
        ("integrations_call", ("alor", "integrations_selftest_audit")),
        ("integrations_call", ("alor", "integrations_selftest_audit")),
    ]
    assert td_calls == [
        ("integrations_authenticate", ("tradingdesk",)),
        ("integrations_call", ("integrations_selftest_audit", "tradingdesk")),
        ("integrations_call", ("integrations_selftest_audit", "tradingdesk")),
    ]


def test_no_builtin_plugin_dispatches_on_the_provider_name():
    import integrations_alor
    import integrations_tradingdesk

    for module in (integrations_alor, integrations_tradingdesk):
        assert "ctx.provider" not in inspect.getsource(module)


class Mute:
    """A provider plugin that forgot its call hook."""

    @hookimpl
    def integrations_register_providers(self, register: Any) -> None:
        register(
            integrations.ProviderSpec(
                name="integrations_selftest_mute",
                contours={"test": {"api": "https://mute.invalid"}},
                credentials=(frozenset({"key"}),),
                facade=integrations.ProviderClient,
            )
        )

    @hookimpl
    def integrations_authenticate(self, ctx: Any, credentials: Any) -> Any:
        return integrations.Token(access="x")


def test_a_provider_plugin_without_a_required_hook_is_refused_at_connect(no_requests):
    host = Host(plugins=(("integrations_selftest_mute", Mute()),), load_entry_points=False)
    with pytest.raises(
        PluginError,
        match="'integrations_selftest_mute' registers provider 'integrations_selftest_mute' but implements no integrations_call",
    ):
        integrations.connect("integrations_selftest_mute", credentials={"key": "k"}, host=host)
    assert no_requests == []


def test_a_failed_load_leaves_nothing_half_loaded():
    class Twin:
        @hookimpl
        def integrations_register_providers(self, register: Any) -> None:
            register(
                integrations.ProviderSpec(
                    name="alor",
                    contours={"test": {"api": "https://x.invalid"}},
                    credentials=(frozenset({"key"}),),
                    facade=integrations.ProviderClient,
                )
            )

    host = Host(plugins=(("integrations_selftest_twin", Twin()),))
    for _ in range(2):  # the second use tries again from scratch, and fails the same way
        with pytest.raises(PluginError, match="registered twice"):
            host.providers()


def test_connect_with_a_facade_class_checks_that_it_serves_the_provider(no_requests):
    from integrations_alor import AlorClient
    from integrations_tradingdesk import TradingDeskClient

    client = integrations.connect(AlorClient, credentials={"refresh_token": "r"})
    assert type(client) is AlorClient
    client.close()

    class Unnamed(integrations.ProviderClient):
        pass

    with pytest.raises(integrations.ConfigurationError, match="names no provider"):
        integrations.connect(Unnamed, credentials={})

    class Impostor(TradingDeskClient):
        provider_name = "alor"

    with pytest.raises(integrations.ConfigurationError, match="not Impostor"):
        integrations.connect(Impostor, credentials={"refresh_token": "r"})


def test_registering_something_else_than_a_spec_is_a_plugin_error():
    class Bad:
        @hookimpl
        def integrations_register_providers(self, register: Any) -> None:
            register({"name": "bad"})

    with pytest.raises(PluginError, match="not a ProviderSpec"):
        Host(plugins=(("integrations_selftest_bad", Bad()),), load_entry_points=False).providers()


def test_providers_command(capsys):
    assert cli(["providers"]) == 0
    out = capsys.readouterr().out
    assert "alor: ALOR Broker (REST + JWT)" in out
    assert "contour:  test: oauth=https://oauthdev.alor.ru, api=https://apidev.alor.ru" in out
    assert "plugin:   alor (trading-integrations" in out


def test_a_closed_client_does_not_authenticate_to_read_its_account(alor_sandbox, clock):
    client = integrations.connect(
        "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials, clock=clock
    )
    client.close()
    with pytest.raises(integrations.ConfigurationError, match="closed"):
        client.account  # noqa: B018 - the property is the call under test
    assert alor_sandbox.requests() == []
