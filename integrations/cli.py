"""The ``integrations`` command: ``providers``, ``demo``, ``sandbox``, ``cassettes check``,
``cassettes verify`` and ``new-provider``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from . import __version__, sandbox
from .client import connect
from .errors import IntegrationError
from .host import Host, default_host
from .recording.modes import missing_dependencies, missing_message

__all__ = ["main"]


def _providers(host: Host, write: Callable[[str], None]) -> int:
    providers = host.providers()
    for name, info in sorted(providers.items()):
        spec = info.spec
        origin = f"{info.distribution} {info.version}".strip() or "registered in-process"
        write(f"{name}: {spec.description}")
        write(f"  plugin:   {info.plugin} ({origin})")
        for contour, urls in spec.contours.items():
            services = ", ".join(f"{service}={url}" for service, url in urls.items())
            write(f"  contour:  {contour}: {services}")
        write(f"  sandbox:  {'yes' if spec.emulator else 'no'}")
    errors = host.load_errors
    for err in errors:
        write(f"load error: plugin {err.name!r} ({err.value}) from {err.distribution}: {err.error}")
    if not providers and not errors:
        write("no providers installed")
    return 1 if errors and not providers else 0


def _demo(host: Host, names: Sequence[str], write: Callable[[str], None]) -> int:
    specs = host.providers()
    chosen = list(names) or sorted(n for n, info in specs.items() if info.spec.demo and info.spec.emulator)
    if not chosen:
        write("no provider offers a demo")
        return 1
    for name in chosen:
        spec = host.provider(name)
        demo = spec.demo_function()
        if demo is None or spec.emulator is None:
            write(f"provider {name!r} has no demo")
            return 1
        write(f"== {name}: {spec.description} (sandbox on 127.0.0.1, no network, no configuration)")
        with (
            sandbox.running(name, host=host) as sb,
            # The sandbox is on loopback: no proxy from the environment may stand in between.
            connect(
                name, base_urls=sb.base_urls, credentials=sb.credentials, host=host, trust_env=False
            ) as client,
        ):
            demo(client, write)
        write("")
    return 0


def _fault_arg(spec: str) -> sandbox.Fault:
    try:
        return sandbox.Fault.parse(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _sandbox(
    host: Host,
    name: str,
    port: int,
    seconds: Optional[float],
    write: Callable[[str], None],
    faults: Sequence[sandbox.Fault] = (),
) -> int:
    with sandbox.running(name, port=port, host=host) as sb:
        handles = sb.faults.extend(faults)
        write(f"{name} sandbox running; press Ctrl+C to stop")
        for service, url in sb.base_urls.items():
            write(f"  base_urls[{service!r}] = {url}")
        for field, value in sb.credentials.items():
            # Sandbox credentials are fake test-account values, printed so that they can be used.
            write(f"  credentials[{field!r}] = {value}")
        for number, handle in enumerate(handles, 1):
            write(f"  fault[{number}] = {handle.fault}")
        sys.stdout.flush()
        try:
            deadline = None if seconds is None else time.monotonic() + seconds
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        for number, handle in enumerate(handles, 1):
            write(f"  fault[{number}] applied to {handle.hits} request(s)")
    return 0


def _cassettes_check(
    paths: Sequence[str],
    secrets: Sequence[str],
    secret_envs: Sequence[str],
    write: Callable[[str], None],
    host: Optional[Host] = None,
) -> int:
    from .recording.lint import DeclaredSecrets, check_paths

    values = list(secrets)
    for name in [*secret_envs, "INTEGRATIONS_CASSETTE_SECRETS"]:
        values.extend(v for v in os.environ.get(name, "").splitlines() if v.strip())
    roots = [Path(p) for p in (paths or ["cassettes"])]
    missing = [str(p) for p in roots if not p.exists()]
    if missing:
        write(f"no such file or directory: {', '.join(missing)}")
        return 2
    # Every installed provider's declared secret names, and their values in the environment.
    h = host or default_host()
    declared = DeclaredSecrets.from_host(h)
    for err in h.load_errors:
        write(f"warning: plugin {err.name!r} failed to load: the secrets it declares are not checked")
    findings = check_paths(roots, values, declared)
    for finding in findings:
        write(str(finding))
    write(f"{len(findings)} finding(s)" if findings else "no secrets found")
    return 1 if findings else 0


def _cassettes_verify(
    cassette_dir: str, keep: Optional[str], pytest_args: Sequence[str], write: Callable[[str], None]
) -> int:
    from .recording.verify import verify

    args = list(pytest_args)
    if args[:1] == ["--"]:
        args = args[1:]
    return verify(Path(cassette_dir), args, keep=Path(keep) if keep else None, write=write)


def _new_provider(host: Host, name: str, path: Optional[str], write: Callable[[str], None]) -> int:
    from .scaffold import ScaffoldError, default_path, new_provider

    target = Path(path) if path is not None else default_path(name)
    try:
        written = new_provider(name, target, host=host)
    except ScaffoldError as exc:
        print(f"integrations new-provider: {exc}", file=sys.stderr)
        return 2
    write(f"wrote the {name} provider plugin to {target} ({len(written)} files):")
    for file in written:
        write(f"  {file.relative_to(target).as_posix()}")
    write("next:")
    write(f"  cd {target} && python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]'")
    write("  pytest    # records cassettes/ on the first run, then replays; runs the conformance suite too")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="integrations", description=__doc__)
    parser.add_argument("--version", action="version", version=f"integrations {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("providers", help="list providers, their plugins, contours and load errors")
    demo = sub.add_parser("demo", help="run each provider's demo against its in-process sandbox")
    demo.add_argument("provider", nargs="*", help="providers to demo (default: all that have one)")
    sb = sub.add_parser(
        "sandbox",
        help="run a provider's sandbox in the foreground",
        description="Run a provider's sandbox on 127.0.0.1 until Ctrl+C (or --seconds).",
        epilog=sandbox.FAULT_SYNTAX,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sb.add_argument("provider")
    sb.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    sb.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    sb.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_fault_arg,
        metavar="SPEC",
        help="inject a fault into matching requests (repeatable; SPEC below)",
    )
    cassettes = sub.add_parser("cassettes", help="cassette tools")
    csub = cassettes.add_subparsers(dest="cassettes_command", required=True)
    check = csub.add_parser(
        "check",
        help="scan cassettes for anything secret-shaped; exit 1 on a finding",
        description="Scan cassettes, parsed and as raw text, for anything secret-shaped: the generic "
        "rules (JWTs, Bearer values, token=, password and token keys), every installed provider's "
        "declared secret headers, query parameters and fields (RecordingRules), the values of "
        "INTEGRATIONS_<PROVIDER>_<FIELD> variables, and the values given below. Findings name the "
        "file, interaction, field, line and rule, and mask the value.",
    )
    check.add_argument("paths", nargs="*", help="files or directories (default: cassettes)")
    check.add_argument("--secret", action="append", default=[], help="a value that must not appear")
    check.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME",
        help="an environment variable whose value (one per line) must not appear; "
        "INTEGRATIONS_CASSETTE_SECRETS is always read",
    )
    verify = csub.add_parser(
        "verify",
        help="re-record every cassette against the sandbox into a temporary directory and compare it "
        "with the committed one; exit 1 on a difference",
    )
    verify.add_argument(
        "--cassette-dir", default="cassettes", help="the committed cassettes (default: cassettes)"
    )
    verify.add_argument(
        "--keep",
        metavar="DIR",
        default=None,
        help="re-record into DIR and keep it (default: a temporary directory, removed)",
    )
    verify.add_argument(
        "pytest_args",
        nargs="*",
        metavar="-- PYTEST_ARGS",
        help="arguments for pytest, after -- (default: pytest's own configuration)",
    )
    new = sub.add_parser(
        "new-provider",
        help="write a complete, installable provider plugin to start from",
        description="Write a third-party provider plugin for a fictional REST broker: hooks, facade, "
        "emulator, demo, conformance profile and tests that record once and replay offline.",
    )
    new.add_argument("name", help="the provider's name, a lowercase Python identifier (acme_demo)")
    new.add_argument(
        "--path",
        default=None,
        metavar="DIR",
        help="a new or empty directory (default: ./integrations-NAME, with hyphens for underscores)",
    )
    return parser


def main(argv: Optional[List[str]] = None, *, host: Optional[Host] = None) -> int:
    args = build_parser().parse_args(argv)

    def write(line: str) -> None:
        print(line, flush=True)

    h = host or default_host()
    try:
        if args.command == "providers":
            return _providers(h, write)
        if args.command == "demo":
            return _demo(h, args.provider, write)
        if args.command == "new-provider":
            return _new_provider(h, args.name, args.path, write)
        if args.command == "cassettes" and missing_dependencies():
            write(missing_message(f"integrations cassettes {args.cassettes_command}"))
            return 2
        if args.command == "cassettes" and args.cassettes_command == "verify":
            return _cassettes_verify(args.cassette_dir, args.keep, args.pytest_args, write)
        if args.command == "cassettes":
            return _cassettes_check(args.paths, args.secret, args.secret_env, write, h)
        return _sandbox(h, args.provider, args.port, args.seconds, write, args.fault)
    except IntegrationError as exc:
        print(f"integrations: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
