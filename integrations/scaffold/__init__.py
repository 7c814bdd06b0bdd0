"""``integrations new-provider NAME``: a complete, installable third-party provider plugin to start from.

:func:`new_provider` renders the templates under ``template/`` (package data; the ``.tmpl`` suffix
keeps our own pytest, ruff and mypy away from them) into a new directory: a plugin for a fictional
REST broker with a login, rotating refresh tokens, a read, an idempotent command, an emulator, a
demo, a conformance profile and tests that record and replay. Nothing else is written, nothing is
installed.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import Dict, List, Optional, Union

from .. import __version__
from ..host import Host, default_host

__all__ = ["NAME_PATTERN", "ScaffoldError", "check_name", "default_path", "new_provider"]

#: A provider name the scaffold accepts: a lowercase Python identifier (it becomes the provider's
#: name, the ``integrations_NAME`` package and the ``integrations-NAME`` distribution).
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,23}")

TEMPLATE = Path(__file__).with_name("template")
_SUFFIX = ".tmpl"
_TOKEN = re.compile(r"\{\{([a-z_]+)\}\}")


class ScaffoldError(ValueError):
    """The plugin cannot be written: a bad name, a name already taken, or a target that is not empty."""


def check_name(name: str, *, host: Optional[Host] = None) -> str:
    """``name`` if a new provider may take it; raises :class:`ScaffoldError` saying why not."""
    if isinstance(name, str) and keyword.iskeyword(name):
        raise ScaffoldError(f"invalid provider name {name!r}: a Python keyword cannot name a package")
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ScaffoldError(
            f"invalid provider name {name!r}: use a lowercase Python identifier of at most 24 characters "
            "(letters, digits and '_', starting with a letter), such as 'acme_demo'"
        )
    taken = (host or default_host()).providers()
    if name in taken:
        raise ScaffoldError(
            f"provider name {name!r} is taken: an installed plugin ({taken[name].plugin}) already "
            "registers it; choose another name"
        )
    return name


def default_path(name: str) -> Path:
    """Where ``integrations new-provider NAME`` writes without ``--path``: ``./integrations-NAME``
    (the distribution's name, hyphens for underscores)."""
    return Path(_variables(name)["dist"])


def _variables(name: str) -> Dict[str, str]:
    words = name.split("_")
    return {
        "name": name,
        "package": f"integrations_{name}",
        "dist": "integrations-" + name.replace("_", "-"),
        "title": " ".join(w.capitalize() for w in words if w),
        "client": "".join(w.capitalize() for w in words) + "Client",
        "emulator": "".join(w.capitalize() for w in words) + "Emulator",
        "host": name.replace("_", "-"),
        "env": name.upper(),
        "integrations_version": __version__,
    }


def _target(relative: str, values: Dict[str, str]) -> str:
    """The written path of a template: ``package/`` becomes the import package, ``tests/test_provider.py``
    the provider's test module, ``gitignore`` ``.gitignore`` (a dotfile would not be package data)."""
    path = relative[: -len(_SUFFIX)]
    if path == "gitignore":
        return ".gitignore"
    if path.startswith("package/"):
        return values["package"] + path[len("package") :]
    if path == "tests/test_provider.py":
        return f"tests/test_{values['name']}.py"
    return path


def _render(text: str, values: Dict[str, str], source: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            raise ScaffoldError(f"template {source} uses an unknown variable {match.group(0)}") from None

    return _TOKEN.sub(substitute, text)


def new_provider(
    name: str, path: Union[str, Path, None] = None, *, host: Optional[Host] = None
) -> List[Path]:
    """Write a provider plugin called ``name`` into ``path`` (default :func:`default_path`), which must
    not exist or be an empty directory. Returns the files written, in order.

    Raises :class:`ScaffoldError` for a bad or taken name (an installed provider's, checked through
    ``host``) and for a target that is a file or a directory that is not empty; nothing is written
    then.
    """
    check_name(name, host=host)
    target = Path(path) if path is not None else default_path(name)
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        raise ScaffoldError(f"{target} is not empty: give a new or empty directory with --path")
    values = _variables(name)
    templates = sorted(p for p in TEMPLATE.rglob("*" + _SUFFIX) if p.is_file())
    if not templates:  # pragma: no cover - an installation without its package data
        raise ScaffoldError(f"the plugin templates are missing from {TEMPLATE} (a broken installation)")
    rendered = []
    for template in templates:  # rendered in full before anything is written
        relative = template.relative_to(TEMPLATE).as_posix()
        text = _render(template.read_text("utf-8"), values, relative)
        rendered.append((target / _target(relative, values), text))
    written = []
    for destination, text in sorted(rendered):
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        written.append(destination)
    # The cassettes directory is created by the first recording; py.typed marks the package typed.
    marker = target / values["package"] / "py.typed"
    marker.write_text("", encoding="utf-8")
    written.append(marker)
    return written
