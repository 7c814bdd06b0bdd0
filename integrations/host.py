"""The plugin host: a pluggy ``PluginManager`` plus the provider registry.

Plugins come from the entry-point group ``integrations``; the built-in ones register through that
same group, exactly as a third party's would. Entry points load one at a time: one that fails to
import is recorded in :attr:`Host.load_errors` and skipped, unless strict mode
(``INTEGRATIONS_STRICT_PLUGINS=1``) turns it into a :class:`~integrations.errors.PluginError`.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from importlib import metadata
from typing import Any, Iterator, Mapping, Optional, Tuple

import attrs
import pluggy

from . import hookspecs
from ._fork import renew_locks_in_child
from .errors import ConfigurationError, PluginError
from .provider import ProviderSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "Host",
    "PluginLoadError",
    "ProviderHooks",
    "RegisteredProvider",
    "default_host",
]

ENTRY_POINT_GROUP = "integrations"
STRICT_ENV = "INTEGRATIONS_STRICT_PLUGINS"


@attrs.frozen
class PluginLoadError:
    """An entry point that failed to load: its name, value, distribution, and the error."""

    name: str
    value: str
    distribution: str
    error: str
    traceback: str = attrs.field(repr=False, default="")


@attrs.frozen
class RegisteredProvider:
    """A provider and where it came from."""

    spec: ProviderSpec
    plugin: str
    distribution: str
    version: str


@attrs.frozen
class _EntryPoint:
    name: str
    value: str
    distribution: str
    version: str
    load: Any = attrs.field(eq=False, repr=False)


def _entry_points(group: str) -> Iterator[_EntryPoint]:
    # Walking distributions (rather than metadata.entry_points(group=...)) works on 3.9 and tells
    # which distribution and version each plugin belongs to. A distribution's metadata is read only
    # when it has an entry point in the group: parsing every METADATA file costs milliseconds.
    seen: set[Tuple[str, str]] = set()
    for dist in metadata.distributions():
        for ep in dist.entry_points:
            if ep.group != group or (ep.name, ep.value) in seen:
                continue
            seen.add((ep.name, ep.value))
            yield _EntryPoint(ep.name, ep.value, dist.metadata["Name"] or "?", dist.version or "?", ep.load)


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@attrs.frozen
class ProviderHooks:
    """The hook callers of one provider: its own plugin's implementations (and nobody else's
    provider plugin), wrapped by every cross-cutting plugin."""

    provider: str
    plugin: str
    authenticate: Any = attrs.field(repr=False)
    refresh: Optional[Any] = attrs.field(repr=False)
    call: Any = attrs.field(repr=False)


class Host:
    """Loads plugins and knows every provider. Thread-safe; loading happens once, lazily.

    ``plugins`` are extra ``(name, plugin)`` pairs registered before the entry points, for tests and
    for applications that embed a plugin without packaging it.
    """

    def __init__(
        self,
        *,
        group: str = ENTRY_POINT_GROUP,
        strict: Optional[bool] = None,
        load_entry_points: bool = True,
        plugins: Tuple[Tuple[str, Any], ...] = (),
    ) -> None:
        self.group = group
        self.strict = _strict_from_env() if strict is None else strict
        self._load_entry_points = load_entry_points
        self._extra = plugins
        self._lock = threading.RLock()
        renew_locks_in_child(self, _lock=threading.RLock)
        self._state: Optional[_Loaded] = None

    @property
    def hook(self) -> Any:
        """The pluggy hook relay of every plugin (``host.hook.integrations_register_providers``).
        Provider calls go through :meth:`hooks_for`, never through this relay."""
        return self._loaded().pm.hook

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        return self._loaded().pm

    @property
    def load_errors(self) -> Tuple[PluginLoadError, ...]:
        return self._loaded().load_errors

    def providers(self) -> Mapping[str, RegisteredProvider]:
        """Every registered provider, by name."""
        return dict(self._loaded().providers)

    def provider(self, name: str) -> ProviderSpec:
        """The spec of provider ``name``. Raises :class:`ConfigurationError` if unknown."""
        state = self._loaded()
        if name not in state.providers:
            known = ", ".join(sorted(state.providers)) or "none"
            hint = f"; {len(state.load_errors)} plugin(s) failed to load" if state.load_errors else ""
            raise ConfigurationError(f"unknown provider {name!r} (known: {known}{hint})")
        return state.providers[name].spec

    def hooks_for(self, name: str) -> ProviderHooks:
        """The hook callers of provider ``name``. Raises :class:`ConfigurationError` for an unknown
        provider and :class:`PluginError` when its plugin lacks a required hook."""
        self.provider(name)
        state = self._loaded()
        hooks = state.hooks.get(name)
        if hooks is None:
            with self._lock:
                hooks = state.hooks.get(name) or state.hooks.setdefault(name, _provider_hooks(state, name))
        return hooks

    def _loaded(self) -> _Loaded:
        state = self._state
        if state is not None:
            return state
        with self._lock:
            if self._state is None:
                # Everything is built on the side and published at the end: a load that fails
                # (strict mode, a duplicate provider) leaves nothing half-registered behind, and
                # the next use tries again from scratch.
                self._state = self._load()
            return self._state

    def _load(self) -> _Loaded:
        state = _Loaded(pluggy.PluginManager(hookspecs.PROJECT))
        state.pm.add_hookspecs(hookspecs)
        for name, plugin in self._extra:
            state.pm.register(plugin, name=name)
            state.versions[name] = ("", "")
        if self._load_entry_points:
            for ep in _entry_points(self.group):
                self._load_one(state, ep)
        _collect_providers(state)
        return state

    def _load_one(self, state: _Loaded, ep: _EntryPoint) -> None:
        if state.pm.has_plugin(ep.name):
            self._fail(state, ep, PluginError(f"plugin name {ep.name!r} is already taken"))
            return
        try:
            plugin = ep.load()
            state.pm.register(plugin, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - any import-time failure of a plugin is reported
            self._fail(state, ep, exc)
            return
        state.versions[ep.name] = (ep.distribution, ep.version)

    def _fail(self, state: _Loaded, ep: _EntryPoint, exc: BaseException) -> None:
        error = PluginLoadError(
            name=ep.name,
            value=ep.value,
            distribution=ep.distribution,
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        )
        if self.strict:
            raise PluginError(
                f"plugin {ep.name!r} ({ep.value}) from {ep.distribution} failed to load: {error.error}"
            ) from exc
        state.load_errors += (error,)


class _Loaded:
    """What one successful load produced."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.providers: dict[str, RegisteredProvider] = {}
        self.load_errors: Tuple[PluginLoadError, ...] = ()
        self.versions: dict[str, Tuple[str, str]] = {}
        self.hooks: dict[str, ProviderHooks] = {}


def _collect_providers(state: _Loaded) -> None:
    # Each implementation is called on its own so that every provider is attributed to the plugin
    # that registered it; pluggy's fan-out would lose that.
    for impl in state.pm.hook.integrations_register_providers.get_hookimpls():
        plugin_name = impl.plugin_name

        def register(spec: ProviderSpec, _plugin: str = plugin_name) -> None:
            _add_provider(state, spec, _plugin)

        impl.function(register=register)


def _add_provider(state: _Loaded, spec: ProviderSpec, plugin: str) -> None:
    if not isinstance(spec, ProviderSpec):
        raise PluginError(f"plugin {plugin!r} registered {type(spec).__name__}, not a ProviderSpec")
    if spec.name in state.providers:
        other = state.providers[spec.name].plugin
        raise PluginError(
            f"provider name {spec.name!r} is registered twice: by plugin {other!r} and by {plugin!r}"
        )
    distribution, version = state.versions.get(plugin, ("", ""))
    state.providers[spec.name] = RegisteredProvider(spec, plugin, distribution, version)


def _provider_hooks(state: _Loaded, name: str) -> ProviderHooks:
    owner = state.providers[name].plugin
    others = [state.pm.get_plugin(info.plugin) for info in state.providers.values() if info.plugin != owner]

    def caller(hook: str, required: bool) -> Optional[Any]:
        own = [
            impl
            for impl in getattr(state.pm.hook, hook).get_hookimpls()
            if impl.plugin_name == owner and not impl.hookwrapper and not impl.wrapper
        ]
        if not own:
            if required:
                raise PluginError(f"plugin {owner!r} registers provider {name!r} but implements no {hook}")
            return None
        return state.pm.subset_hook_caller(hook, remove_plugins=others)

    return ProviderHooks(
        provider=name,
        plugin=owner,
        authenticate=caller("integrations_authenticate", True),
        refresh=caller("integrations_refresh", False),
        call=caller("integrations_call", True),
    )


_default: Optional[Host] = None
_default_lock = threading.Lock()
renew_locks_in_child(sys.modules[__name__], _default_lock=threading.Lock)


def default_host() -> Host:
    """The process-wide host, created on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Host()
    return _default
