"""What it costs to start using the library, against importing requests alone, in fresh processes.

Runs N fresh interpreters (``sys.executable -c ...``) of each, interleaved, each timing its own work
with ``time.perf_counter()`` (interpreter start-up is left out):

- integrations: ``import integrations`` + ``integrations.connect("alor", credentials=...)`` (no I/O:
                the plugin scan, the providers' modules, the client);
- requests:     ``import requests``, the floor: the library's HTTP client.

Prints the median of each and the ratio. Target: integrations / requests <= 2.0. For what dominates,
``python -X importtime -c "import integrations; integrations.connect('alor', credentials={'refresh_token': 'x'})"``.

    python bench/import_cost.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from typing import Dict, List

_TIMED = """\
import time
started = time.perf_counter()
{work}
print(repr(time.perf_counter() - started))
"""

WORK: Dict[str, str] = {
    "integrations": (
        "import integrations\nintegrations.connect('alor', credentials={'refresh_token': 'x'}).close()"
    ),
    "requests": "import requests",
}

TARGET = 2.0


# An installed package is byte-compiled (pip writes the .pyc files, as it did for requests); so the
# children may write them for a checkout too, whatever PYTHONDONTWRITEBYTECODE says here.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _once(work: str) -> float:
    """Seconds the work took inside a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _TIMED.format(work=work)], capture_output=True, text=True, env=_ENV
    )
    if done.returncode != 0:
        raise SystemExit(f"the child failed ({work!r}):\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    for work in WORK.values():  # warm up: byte-compile, fill the OS's file cache
        _once(work)
    results: Dict[str, List[float]] = {name: [] for name in WORK}
    for run in range(args.runs):
        order = list(WORK) if run % 2 == 0 else list(WORK)[::-1]  # alternate to spread drift evenly
        for name in order:
            results[name].append(_once(WORK[name]))

    med = {name: statistics.median(values) for name, values in results.items()}
    print(f"import cost, median over {args.runs} fresh processes (Python {sys.version.split()[0]}):")
    print(f"  {'import integrations + connect(alor)':<36} {med['integrations'] * 1e3:7.1f} ms")
    print(f"  {'import requests':<36} {med['requests'] * 1e3:7.1f} ms")
    ratio = med["integrations"] / med["requests"]
    print(
        f"integrations / requests = {ratio:.2f}  (target <= {TARGET}: {'ok' if ratio <= TARGET else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
