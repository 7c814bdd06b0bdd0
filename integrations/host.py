"""The plugin host: a pluggy ``PluginManager`` plus the provider registry.

Plugins come from the entry-point group ``integrations``; the built-in ones register through that
same group, exactly as a third party's would. Entry points load one at a time: one that fails to
import is recorded in :attr:`Host.load_errors` and skipped, unless strict mode
(``INTEGRATIONS_STRICT_PLUGINS=1``) turns it into a :class:`~integrations.errors.PluginError`.
"""

from __future__ import annotations

import os
import threading
import traceback
from importlib import metadata
from typing import Any, Iterator, List, Mapping, Optional, Tuple

import attrs
import pluggy

from . import hookspecs
from .errors import ConfigurationError, PluginError
from .provider import ProviderSpec

__all__ = ["Host", "PluginLoadError", "RegisteredProvider", "default_host", "ENTRY_POINT_GROUP"]

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
    # which distribution and version each plugin belongs to.
    seen: set[Tuple[str, str]] = set()
    for dist in metadata.distributions():
        dist_name = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group != group or (ep.name, ep.value) in seen:
                continue
            seen.add((ep.name, ep.value))
            yield _EntryPoint(ep.name, ep.value, dist_name, dist.version or "?", ep.load)


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


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
        self._loaded = False
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._providers: dict[str, RegisteredProvider] = {}
        self._load_errors: List[PluginLoadError] = []
        self._versions: dict[str, Tuple[str, str]] = {}

    @property
    def hook(self) -> Any:
        """The pluggy hook relay (``host.hook.integrations_call(...)``)."""
        self._ensure_loaded()
        return self._pm.hook

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        self._ensure_loaded()
        return self._pm

    @property
    def load_errors(self) -> Tuple[PluginLoadError, ...]:
        self._ensure_loaded()
        return tuple(self._load_errors)

    def providers(self) -> Mapping[str, RegisteredProvider]:
        """Every registered provider, by name."""
        self._ensure_loaded()
        return dict(self._providers)

    def provider(self, name: str) -> ProviderSpec:
        """The spec of provider ``name``. Raises :class:`ConfigurationError` if unknown."""
        providers = self.providers()
        if name not in providers:
            known = ", ".join(sorted(providers)) or "none"
            hint = f"; {len(self._load_errors)} plugin(s) failed to load" if self._load_errors else ""
            raise ConfigurationError(f"unknown provider {name!r} (known: {known}{hint})")
        return providers[name].spec

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            for name, plugin in self._extra:
                self._pm.register(plugin, name=name)
                self._versions[name] = ("", "")
            if self._load_entry_points:
                for ep in _entry_points(self.group):
                    self._load_one(ep)
            self._collect_providers()
            self._loaded = True

    def _load_one(self, ep: _EntryPoint) -> None:
        if self._pm.has_plugin(ep.name):
            self._fail(ep, PluginError(f"plugin name {ep.name!r} is already taken"))
            return
        try:
            plugin = ep.load()
            self._pm.register(plugin, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - any import-time failure of a plugin is reported
            self._fail(ep, exc)
            return
        self._versions[ep.name] = (ep.distribution, ep.version)

    def _fail(self, ep: _EntryPoint, exc: BaseException) -> None:
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
        self._load_errors.append(error)

    def _collect_providers(self) -> None:
        # Each implementation is called on its own so that every provider is attributed to the
        # plugin that registered it; pluggy's fan-out would lose that.
        for impl in self._pm.hook.integrations_register_providers.get_hookimpls():
            plugin_name = impl.plugin_name

            def register(spec: ProviderSpec, _plugin: str = plugin_name) -> None:
                self._add_provider(spec, _plugin)

            impl.function(register=register)

    def _add_provider(self, spec: ProviderSpec, plugin: str) -> None:
        if not isinstance(spec, ProviderSpec):
            raise PluginError(f"plugin {plugin!r} registered {type(spec).__name__}, not a ProviderSpec")
        if spec.name in self._providers:
            other = self._providers[spec.name].plugin
            raise PluginError(
                f"provider name {spec.name!r} is registered twice: by plugin {other!r} and by {plugin!r}"
            )
        distribution, version = self._versions.get(plugin, ("", ""))
        self._providers[spec.name] = RegisteredProvider(spec, plugin, distribution, version)


_default: Optional[Host] = None
_default_lock = threading.Lock()


def default_host() -> Host:
    """The process-wide host, created on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Host()
    return _default
