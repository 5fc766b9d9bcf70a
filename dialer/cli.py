"""The ``dialer`` command line: one subcommand per module, imported lazily.

Each subcommand lives in the module that owns the work and exposes
``main(argv: list[str]) -> int``; this file only dispatches, so that
``dialer --help`` stays fast and a broken optional part cannot break the rest.
"""

from __future__ import annotations

import importlib
import sys

from dialer import __version__

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("dialer.daemon", "run the dialer daemon (--config config/dialer.toml)"),
    "events": ("dialer.bus.tail", "follow the Redis event stream (events tail)"),
    "import": ("dialer.store.importer", "import a CSV calling list into a campaign"),
    "campaign": ("dialer.campaign_cli", "start / stop / show a campaign"),
    "amd-eval": ("media.amd.evaluate", "evaluate an AMD detector on a labelled WAV corpus"),
    "simulate": ("dialer.pacing.simulate", "simulate a campaign with one or more pacers"),
    "agent-phone": ("dialer.sim.agent_phone", "run PJSIP softphones that act as agents"),
}


def engine_summary() -> str:
    try:
        from dialer.sip.engine import engine_info
    except Exception as exc:  # noqa: BLE001 - report, never crash --version
        return f"engine: unavailable ({exc})"
    info = engine_info()
    if info is None:
        return "engine: pjsua2 not installed (run scripts/setup)"
    return f"engine: pjproject {info.get('pjproject', '?')}, capacity {info.get('max_calls', '?')} calls"


def usage() -> str:
    lines = ["usage: dialer [--version] COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<12} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("-V", "--version", "version"):
        print(f"dialer {__version__}")
        print(engine_summary())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"dialer: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    result = module.main(rest)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
