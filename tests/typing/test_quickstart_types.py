"""The README's quickstart type-checks under ``mypy --strict`` with the facades' real types: a typo
such as ``alor.ordrebook`` is caught before it runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]


def quickstart() -> str:
    """The Python blocks of the README's Quickstart section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Quickstart\n", 1)[1].split("\n#", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the README has no Quickstart code"
    return "\n".join(blocks)


def mypy_strict(tmp_path: Path, source: str) -> Tuple[int, List[str]]:
    api = pytest.importorskip("mypy.api", reason="mypy comes with the lint extra")
    path = tmp_path / "quickstart.py"
    path.write_text(source, encoding="utf-8")
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            "--no-color-output",
            "--config-file",
            str(ROOT / "setup.cfg"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            str(path),
        ]
    )
    return status, [line for line in (stdout + stderr).splitlines() if line.strip()]


def test_the_quickstart_reveals_the_facade_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # setup.cfg's mypy_path finds plugins/ from here
    _, lines = mypy_strict(tmp_path, quickstart() + "\nreveal_type(alor)\nreveal_type(td)\n")
    revealed = [line.split("Revealed type is ", 1)[1] for line in lines if "Revealed type is" in line]
    assert revealed == [
        '"integrations_alor.api.AlorClient"',
        '"integrations_tradingdesk.api.TradingDeskClient"',
    ], lines
    # Errors in the quickstart itself; the library's own typing is the `mypy` CI step's job (and with
    # Python 3.9's urllib3 1.26, which ships no types, mypy would complain about it).
    assert [line for line in lines if "quickstart.py" in line and "error:" in line] == []


def test_a_typo_in_a_method_name_is_a_type_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    status, lines = mypy_strict(tmp_path, quickstart().replace(".orderbook(", ".ordrebook(", 1))
    assert status == 1
    assert any('"AlorClient" has no attribute "ordrebook"' in line for line in lines), lines
