"""`wirewatch` imports only the command module a command line names: the map it dispatches by must name every
command's real module, and a command line must not pull in what another command needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ingest.cli as cli
from ingest.run.bulk import BULK_SWITCH_INTERVAL


def _defined_in() -> dict[str, str]:
    cli._register()
    out = {}
    for info in cli.app.registered_commands:
        out[info.name or info.callback.__name__] = info.callback.__module__
    for group in cli.app.registered_groups:
        callbacks = [c.callback for c in group.typer_instance.registered_commands]
        out[group.name] = callbacks[0].__module__
    return out


def test_every_command_is_dispatched_to_the_module_that_defines_it():
    defined = _defined_in()
    assert sorted(defined) == sorted(cli.COMMAND_MODULES)
    for name, module in defined.items():
        assert module == f"ingest.cli.{cli.COMMAND_MODULES[name]}", name


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["import", "x.jsonl"], "import"),
        (["--dsn", "postgresql://h/db", "-v", "import", "x"], "import"),
        (["--dsn=postgresql://h/db", "posts"], "posts"),
        (["-vv", "db", "upgrade"], "db"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_name_is_found_after_root_options(argv, name):
    assert cli._command_name(argv) == name


def _after_help(command: str, report: str) -> list[str]:
    """`wirewatch COMMAND --help` run by `ingest.cli.main` in a fresh interpreter, then `report` (an expression)
    printed: its words."""
    return _after_run(["wirewatch", command, "--help"], report)


def _after_run(argv: list[str], report: str) -> list[str]:
    """The command line `argv` run by `ingest.cli.main` in a fresh interpreter (however it ends), then `report`
    printed: its words."""
    code = (
        f"import gc, sys; sys.argv = {argv!r}\n"
        "from ingest.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('REPORT', {report})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return next(ln for ln in out.stdout.splitlines() if ln.startswith("REPORT ")).split()[1:]


def test_import_loads_no_other_command_and_no_heavy_stack():
    """`wirewatch import --help` in a fresh interpreter: the import command's module only, and none of the
    libraries other commands need (the console's web stack, Telethon, the grouping's numerics)."""
    loaded = set(_after_help("import", "' '.join(sorted(sys.modules))"))
    commands = {m for m in loaded if m.startswith("ingest.cli.") and m != "ingest.cli.common"}
    assert commands == {"ingest.cli.imports"}
    for heavy in (
        "fastapi",
        "uvicorn",
        "telethon",
        "tweepy",
        "numpy",
        "scipy",
        "sklearn",
        "pyarrow",
        "httpx",
    ):
        assert heavy not in loaded, heavy


def test_parsing_a_command_line_loads_no_pydantic(tmp_path):
    """Options are parsed and converted without pydantic: typer 0.29 imports it to build an adapter for every
    option, ~0.09 s of each start, which an hourly re-import of unchanged files mostly is (pyproject pins below)."""
    missing = str(tmp_path / "missing.jsonl")
    dsn = "postgresql://nobody@127.0.0.1:1/none"
    argv = ["wirewatch", "--dsn", dsn, "import", missing, "--json", "--jobs", "1"]
    loaded = set(_after_run(argv, "' '.join(sorted(sys.modules))"))
    assert "ingest.cli.imports" in loaded  # the command ran past its options
    assert "pydantic" not in loaded


@pytest.mark.parametrize(("command", "bulk"), [("import", True), ("backfill", True), ("posts", False)])
def test_bulk_commands_tune_the_collector_and_the_thread_switch_interval(command, bulk):
    """Bulk commands collect young objects less often and hand the GIL over within 1 ms (the import's read-ahead
    thread and the main thread feeding the server take turns); other commands keep Python's defaults."""
    threshold, interval = _after_help(command, "gc.get_threshold()[0], sys.getswitchinterval()")
    threshold, interval = int(threshold), float(interval)
    if bulk:
        assert (threshold, interval) == (200_000, BULK_SWITCH_INTERVAL)
    else:
        assert (threshold, interval) == (700, 0.005)


def test_reading_files_loads_no_live_client():
    """What `wirewatch import` uses of every file format (reader, normaliser, fingerprints, line channels) in a
    fresh interpreter: none of the live clients' stacks, which the platform packages hold beside their readers."""
    code = (
        "import sys\n"
        "from ingest.sources.formats import FORMATS\n"
        "for f in FORMATS.values():\n"
        "    f.read, f.normalize, f.fingerprinter, f.line_channel\n"
        "print('REPORT', ' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(next(ln for ln in out.stdout.splitlines() if ln.startswith("REPORT ")).split()[1:])
    assert {"ingest.sources.telegram.jsonl", "ingest.sources.x.fingerprint"} <= loaded
    for heavy in (
        "telethon",
        "tweepy",
        "requests",
        "ingest.sources.telegram.client",
        "ingest.sources.x.source",
    ):
        assert heavy not in loaded, heavy
