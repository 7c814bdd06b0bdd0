"""The pytest plugin for plugin authors (entry point ``pytest11``, loaded wherever the package is
installed): test fixtures, and the conformance suite behind ``--integrations-conformance=NAME``.

Fixtures:

- ``clock``: a :class:`~integrations.runtime.ManualClock` at the current second; sandboxes and
  clients built by the fixtures below share it (``clock.advance(8 * 86400)`` ages every token).
- ``no_requests``: every attempt to send HTTP through the library is refused and listed (for "bad
  input raises before anything is sent").
- ``threaded``: ``threaded(fn, threads=16)`` runs ``fn()`` in threads released together and returns
  ``(results, errors)``.
- ``integrations_sandbox``: ``integrations_sandbox("acme", **emulator_options)`` starts the
  provider's emulator on 127.0.0.1 (on ``clock``); stopped after the test.
- ``integrations_client``: ``integrations_client(sandbox, **connect_options)`` connects the
  provider's facade to that sandbox (on ``clock``, with sequential ids); closed after the test.

Importing this module imports nothing heavier than ``integrations`` itself.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest

from ..runtime import ManualClock, SequentialIds
from .threads import run_in_threads

CONFORMANCE_OPTION = "--integrations-conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("integrations", "integrations record/replay")
    group.addoption(
        CONFORMANCE_OPTION,
        action="append",
        default=[],
        metavar="NAME",
        help="run the conformance suite against the installed provider NAME (repeat or comma-separate "
        "for several): every rule of integrations.testing.conformance, against the provider's emulator.",
    )


def conformance_providers(config: pytest.Config) -> List[str]:
    names: List[str] = []
    for value in config.getoption(CONFORMANCE_OPTION) or ():
        names.extend(n.strip() for n in value.split(",") if n.strip())
    return names


def pytest_configure(config: pytest.Config) -> None:
    if conformance_providers(config):
        # The suite's test module is collected like a file given on the command line.
        config.args.append(str(Path(__file__).with_name("conformance_suite.py")))


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at the current whole second."""
    return ManualClock(float(int(time.time())))


@pytest.fixture
def no_requests(monkeypatch: pytest.MonkeyPatch) -> List[Tuple[str, str]]:
    """Refuse and list every attempt to send HTTP through any client: ``assert no_requests == []``."""
    from .. import transport

    sent: List[Tuple[str, str]] = []

    def refuse(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        sent.append((method, url))
        raise AssertionError(f"a request was sent: {method} {url}")

    monkeypatch.setattr(transport.Transport, "send", refuse)
    return sent


@pytest.fixture
def threaded() -> Callable[..., Tuple[List[Any], List[BaseException]]]:
    """``threaded(fn, threads=16)``: run ``fn`` in threads released together; (results, errors)."""
    return run_in_threads


@pytest.fixture
def integrations_sandbox(clock: ManualClock) -> Iterator[Callable[..., Any]]:
    """``integrations_sandbox(provider, **emulator_options)``: a live sandbox on ``clock``."""
    from .. import sandbox

    started: List[Any] = []

    def start(provider: str, **options: Any) -> Any:
        options.setdefault("clock", clock)
        sb = sandbox.start(provider, **options)
        started.append(sb)
        return sb

    try:
        yield start
    finally:
        for sb in reversed(started):
            sb.stop()


@pytest.fixture
def integrations_client(clock: ManualClock) -> Iterator[Callable[..., Any]]:
    """``integrations_client(sandbox, **connect_options)``: the provider's facade connected to a
    running sandbox, with its credentials, on ``clock``, with sequential ids."""
    from ..client import connect

    clients: List[Any] = []

    def make(sb: Any, **options: Any) -> Any:
        args = {
            "base_urls": sb.base_urls,
            "credentials": sb.credentials,
            "clock": clock,
            "ids": SequentialIds(),
        }
        args.update(options)
        client = connect(sb.provider, **args)
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.close()
