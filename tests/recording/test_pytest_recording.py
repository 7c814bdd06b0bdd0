"""pytest-recording: ``vcr_config()`` in its ``vcr_config`` fixture records against the sandbox with
canonical hosts and redacted secrets, and replays offline; our ``pytest_recording_configure`` hook
registers the ``integrations`` matcher that the config names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

from integrations.cli import main

pytest.importorskip("pytest_recording")

# The test module run by an inner pytest. SECRETS_FILE receives the sandbox's credentials (so the
# outer test can look for them in the cassette); BOOK_FILE receives what the client saw.
MODULE = textwrap.dedent('''
    import json
    import os

    import pytest

    import integrations
    import integrations.recording
    import integrations.sandbox


    @pytest.fixture(scope="module")
    def alor_sandbox(record_mode):
        """The sandbox when recording; ``None`` on replay (``--record-mode=none``)."""
        if record_mode == "none":
            yield None
            return
        with integrations.sandbox.running("alor") as sandbox:
            with open(os.environ["SECRETS_FILE"], "w", encoding="utf-8") as f:
                json.dump(sandbox.credentials, f)
            yield sandbox


    @pytest.fixture(scope="module")
    def vcr_config(alor_sandbox):
        canonical = {}
        if alor_sandbox is not None:
            contour = integrations.default_host().provider("alor").contours["test"]
            canonical = {local: contour[service] for service, local in alor_sandbox.base_urls.items()}
        return integrations.recording.vcr_config("alor", canonical_urls=canonical)


    @pytest.mark.vcr
    def test_orderbook(alor_sandbox):
        if alor_sandbox is not None:
            options = {"base_urls": alor_sandbox.base_urls, "credentials": alor_sandbox.credentials}
        else:
            options = {"credentials": {"refresh_token": "REDACTED-refresh_token"}}
        with integrations.connect("alor", **options) as client:
            book = client.orderbook("MOEX", "SBER", depth=5)
        assert len(book.bids) == len(book.asks) == 5
        assert book.best_bid.price < book.best_ask.price
        with open(os.environ["BOOK_FILE"], "w", encoding="utf-8") as f:
            json.dump([[str(level.price), level.volume] for level in book.bids + book.asks], f)
''')


def _pytest(tmp_path: Path, *args: str, book: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "INTEGRATIONS_RECORD_MODE",
            "INTEGRATIONS_CASSETTE_DIR",
            "PYTEST_ADDOPTS",
            "PYTEST_PLUGINS",
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        }
    }
    env.update(SECRETS_FILE=str(tmp_path / "secrets.json"), BOOK_FILE=str(tmp_path / book))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, "test_alor_book.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project of its own: its pytest.ini makes it the rootdir, away from our conftest and
    our setup.cfg options."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_alor_book.py").write_text(MODULE, encoding="utf-8")
    return tmp_path


def test_records_canonical_redacted_cassette_and_replays_offline(project: Path) -> None:
    recorded = _pytest(project, "--record-mode=once", book="book-recorded.json")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "1 passed" in recorded.stdout

    cassettes = project / "cassettes"
    assert [p.relative_to(cassettes).as_posix() for p in cassettes.rglob("*") if p.is_file()] == [
        "test_alor_book/test_orderbook.yaml"
    ]
    text = (cassettes / "test_alor_book" / "test_orderbook.yaml").read_text(encoding="utf-8")
    assert "https://oauthdev.alor.ru/refresh" in text
    assert "https://apidev.alor.ru/md/v2/orderbooks/MOEX/SBER" in text
    assert "127.0.0.1" not in text
    secrets: Dict[str, str] = json.loads((project / "secrets.json").read_text(encoding="utf-8"))
    assert secrets["refresh_token"]
    for value in secrets.values():
        assert value not in text
    secret_args: List[str] = [arg for value in secrets.values() for arg in ("--secret", value)]
    assert main(["cassettes", "check", *secret_args, str(cassettes)]) == 0

    (project / "secrets.json").unlink()
    replayed = _pytest(project, "--record-mode=none", "--block-network", book="book-replayed.json")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 passed" in replayed.stdout
    assert not (project / "secrets.json").exists()  # no sandbox on replay
    book = json.loads((project / "book-replayed.json").read_text(encoding="utf-8"))
    assert book == json.loads((project / "book-recorded.json").read_text(encoding="utf-8"))

    # Without our plugin nobody registers the matcher vcr_config() names.
    unregistered = _pytest(
        project,
        "--record-mode=none",
        "--block-network",
        "-p",
        "no:integrations",
        book="book-unregistered.json",
    )
    assert unregistered.returncode == 1, unregistered.stdout + unregistered.stderr
    assert "KeyError" in unregistered.stdout
    assert "Matcher integrations doesn't exist" in unregistered.stdout
    assert not (project / "book-unregistered.json").exists()
