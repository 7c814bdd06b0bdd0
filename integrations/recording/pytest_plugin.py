"""The pytest plugin (entry point ``pytest11``): record/replay fixtures for provider sessions.

    def test_book(integrations_session):
        with integrations_session("alor") as s:
            assert s.client.orderbook("MOEX", "SBER").bids

Cassettes go to ``<cassette dir>/<provider>/<test module>/<test name>[-<name>].yaml``. The mode comes
from ``--integrations-record-mode`` or ``INTEGRATIONS_RECORD_MODE``: ``none`` (default, replay
offline), ``once`` (record missing cassettes) or ``rewrite`` (record all anew). Recordings go to
the provider's sandbox, or with ``--integrations-record-against=contour`` (or
``INTEGRATIONS_RECORD_AGAINST=contour``) to its real test contour, with credentials from
``INTEGRATIONS_<PROVIDER>_<FIELD>`` environment variables.

With pytest-recording, return :func:`~integrations.recording.vcr_config` from its ``vcr_config``
fixture; this plugin registers the ``integrations`` matcher on pytest-recording's ``VCR``:

    @pytest.fixture(scope="module")
    def vcr_config():
        return integrations.recording.vcr_config("alor")
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, List, Optional, Tuple

import pytest

# Only light imports here: this plugin loads in every pytest run wherever the package is installed,
# so the harness (vcrpy, PyYAML) is imported inside the fixtures and hooks that use it.
from .modes import MODES, TARGETS, missing_dependencies, missing_message

if TYPE_CHECKING:
    from .session import RecordedSession

# Options that only make sense when recording or replaying: given without the extra, a usage error.
_RECORDING_OPTIONS = (
    "--integrations-record-mode",
    "--integrations-record-against",
    "--integrations-reference-dir",
)


def _require_recording(what: str) -> None:
    """Fail the test (not the run) with the install command when the ``recording`` extra is missing."""
    missing = missing_dependencies()
    if missing:
        pytest.fail(missing_message(what, missing), pytrace=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("integrations", "integrations record/replay")
    group.addoption(
        "--integrations-record-mode",
        choices=MODES,
        default=None,
        help="none (default): replay cassettes offline; once: record missing ones; rewrite: record all anew.",
    )
    group.addoption(
        "--integrations-cassette-dir",
        default=None,
        help="where cassettes live (default: INTEGRATIONS_CASSETTE_DIR or <rootdir>/cassettes).",
    )
    group.addoption(
        "--integrations-record-against",
        choices=TARGETS,
        default=None,
        help="sandbox (default): record against the provider's sandbox on 127.0.0.1; contour: against "
        "the provider's real test contour, with credentials from INTEGRATIONS_<PROVIDER>_<FIELD> "
        "variables (or INTEGRATIONS_RECORD_AGAINST).",
    )
    group.addoption(
        "--integrations-reference-dir",
        default=None,
        help="when recording, reuse the recording instant of the cassette at the same relative path "
        "under this directory (used by 'integrations cassettes verify').",
    )
    group.addoption(
        "--integrations-only",
        action="store_true",
        default=False,
        help="run only the tests that use the integrations_session fixture.",
    )


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording: register the ``integrations`` matcher for every installed provider.

    Called only when pytest-recording, hence vcrpy, is installed.
    """
    from ..host import default_host
    from .harness import register

    register(vcr, *default_host().providers())


def pytest_configure(config: pytest.Config) -> None:
    given = [option for option in _RECORDING_OPTIONS if config.getoption(option) is not None]
    missing = missing_dependencies() if given else ()
    if missing:
        what = given[0] if len(given) == 1 else f"pytest {' '.join(given)}"
        raise pytest.UsageError(missing_message(what, missing))


def _choice(config: pytest.Config, option: str, variable: str, choices: Tuple[str, ...]) -> str:
    """A command-line option, else its environment variable, else the first choice."""
    value = config.getoption(option) or os.environ.get(variable, choices[0])
    if value not in choices:
        raise pytest.UsageError(f"{variable} must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def _mode(config: pytest.Config) -> str:
    return _choice(config, "--integrations-record-mode", "INTEGRATIONS_RECORD_MODE", MODES)


def _target(config: pytest.Config) -> str:
    return _choice(config, "--integrations-record-against", "INTEGRATIONS_RECORD_AGAINST", TARGETS)


def _cassette_dir(config: pytest.Config) -> Path:
    given = config.getoption("--integrations-cassette-dir") or os.environ.get("INTEGRATIONS_CASSETTE_DIR")
    return Path(given) if given else Path(str(config.rootpath)) / "cassettes"


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    if not config.getoption("--integrations-only"):
        return
    keep: List[pytest.Item] = []
    dropped: List[pytest.Item] = []
    for item in items:
        (keep if "integrations_session" in getattr(item, "fixturenames", ()) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
def integrations_record_mode(request: pytest.FixtureRequest) -> str:
    """The record mode in force: ``none``, ``once`` or ``rewrite``."""
    return _mode(request.config)


@pytest.fixture
def integrations_session(
    request: pytest.FixtureRequest, integrations_record_mode: str
) -> Callable[..., ContextManager[RecordedSession]]:
    """A factory: ``integrations_session(provider, name=None, sandbox=..., **connect_options)``.

    Returns a context manager yielding a :class:`RecordedSession`; ``sandbox`` holds emulator
    options used when recording (``access_token_ttl``…).
    """
    _require_recording("the integrations_session fixture")
    from .harness import read_recorded_at
    from .session import recorded_session

    module = Path(str(request.node.path)).stem
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    base = _cassette_dir(request.config)
    reference = request.config.getoption("--integrations-reference-dir")

    def factory(
        provider: str,
        name: Optional[str] = None,
        *,
        sandbox: Optional[dict[str, Any]] = None,
        **connect_options: Any,
    ) -> ContextManager[RecordedSession]:
        relative = Path(provider, module, f"{test}-{name}.yaml" if name else f"{test}.yaml")
        return recorded_session(
            provider,
            base / relative,
            mode=integrations_record_mode,
            against=_target(request.config),
            sandbox_options=sandbox,
            connect_options=connect_options,
            recorded_at=read_recorded_at(Path(reference) / relative) if reference else None,
        )

    return factory
