"""``dialer import CAMPAIGN FILE.csv``: import a calling list (or a DNC list) into Redis.

Prints every rejected line (``line 12: phone: invalid number '555'``), a progress bar
on stderr for large files, and a summary. Exit status: 0 every row imported, 1 some
rows rejected (the others were imported), 2 nothing done (bad arguments, unreadable
file, bad mapping, Redis unreachable).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import redis.asyncio as aioredis

from dialer.bus.publisher import publish_once
from dialer.campaign.policy import CampaignPolicy
from dialer.errors import ConfigError, InputError
from dialer.events import ListImported
from dialer.store.csvimport import parse_mapping
from dialer.store.records import ImportReport, RecordStore

BAR_MIN_BYTES = 1_000_000  # files at least this large get a progress bar


class ProgressBar:
    """A one-line bar on a terminal; ten plain lines (every 10 %) when not a terminal."""

    def __init__(self, stream: TextIO, width: int = 40) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_step = -1

    def __call__(self, rows: int, done: int, total: int) -> None:
        frac = min(1.0, done / total) if total else 1.0
        rate = rows / max(time.monotonic() - self.started, 1e-6)
        if self.tty:
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {frac:6.1%} {rows:>9,} rows {rate:>8,.0f}/s")
            self.stream.flush()
        else:
            step = int(frac * 10)
            if step != self.last_step:
                self.last_step = step
                self.stream.write(f"import: {frac:.0%} ({rows:,} rows, {rate:,.0f}/s)\n")
                self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dialer import", description="Import a CSV calling list into a campaign.",
        epilog="Default columns: id,first_name,last_name,phone,phone2,phone3,timezone,"
               "priority; other columns become text fields.",
    )
    p.add_argument("campaign")
    p.add_argument("file", type=Path)
    p.add_argument("--mapping", help="CSV column to field: 'Tel=phone,Cell=phone2:mobile,...'")
    p.add_argument("--region", help="region for numbers without +country (default: campaign's)")
    p.add_argument("--config", default="config/dialer.toml",
                   help="daemon config (TOML); 'none' for the default policy")
    p.add_argument("--redis-url", help="overrides the config and DIALER_REDIS_URL")
    p.add_argument("--prefix", help="Redis key prefix (default: config redis.prefix)")
    p.add_argument("--dnc", action="store_true",
                   help="the file is a do-not-call list for this campaign (one number a line)")
    p.add_argument("--global-dnc", action="store_true",
                   help="the file is a do-not-call list for the global internal list")
    p.add_argument("--max-errors", type=int, default=1000, help="rejected lines to print")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _settings(args: argparse.Namespace) -> tuple[str, str, CampaignPolicy, str]:
    """(redis url, prefix, policy, region) from the config file, environment and flags."""
    url, prefix, policy, region = "redis://127.0.0.1:6379/0", "dialer", CampaignPolicy(), ""
    args.events_stream = ""  # from the config, else <prefix>:events
    cfg_path = Path(args.config)
    if args.config != "none" and cfg_path.exists():
        from dialer.config import load

        cfg = load(cfg_path)
        url, prefix = cfg.redis.url, cfg.redis.prefix
        args.events_stream = cfg.redis.events_stream
        for c in cfg.campaigns:
            if c.name == args.campaign:
                policy = getattr(c, "policy", None) or policy
                region = str(getattr(c, "region", "") or policy.region)
                break
        else:
            raise ConfigError("campaigns", f"no campaign named {args.campaign!r} in {cfg_path}")
    elif args.config not in ("config/dialer.toml", "none"):
        raise ConfigError("(file)", f"cannot read {cfg_path}")
    url = args.redis_url or os.environ.get("DIALER_REDIS_URL") or url
    prefix = args.prefix or prefix
    args.events_stream = args.events_stream or f"{prefix}:events"
    return url, prefix, policy, (args.region or region or policy.region)


async def _run(args: argparse.Namespace) -> int:
    url, prefix, policy, region = _settings(args)
    client = aioredis.Redis.from_url(url)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - report any connection failure plainly
        print(f"dialer import: cannot reach Redis at {url}: {exc}", file=sys.stderr)
        return 2
    try:
        store = RecordStore(client, campaign=args.campaign, policy=policy, prefix=prefix)
        if args.dnc or args.global_dnc:
            target = store.global_dnc if args.global_dnc else store.dnc
            added, errors = await target.import_file(args.file, region=region)
            _print_errors(errors, args.max_errors)
            which = "global" if args.global_dnc else f"campaign {args.campaign}"
            print(f"{added} numbers added to the {which} do-not-call list, "
                  f"{len(errors)} lines rejected")
            return 1 if errors else 0
        size = args.file.stat().st_size if args.file.exists() else 0
        bar = ProgressBar(sys.stderr) if size >= BAR_MIN_BYTES and not args.quiet else None
        try:
            report: ImportReport = await store.import_csv(
                args.file, mapping=parse_mapping(args.mapping), region=region, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        for line, warning in report.warnings[: args.max_errors]:
            print(f"line {line}: warning: {warning}", file=sys.stderr)
        _print_errors(report.errors, args.max_errors)
        rate = report.rows / report.seconds if report.seconds else 0.0
        await publish_once(client, args.events_stream, ListImported(
            at=time.time(), campaign=args.campaign, imported=report.imported,
            rejected=report.rejected, source=str(args.file)))
        print(f"{args.campaign}: {report.imported} records imported, {report.rejected} rows "
              f"rejected, {len(report.warnings)} warnings, {report.rows} rows in "
              f"{report.seconds:.1f} s ({rate:,.0f} rows/s)")
        return 1 if report.errors else 0
    finally:
        await client.aclose()


def _print_errors(errors: list[tuple[int, str]], limit: int) -> None:
    for line, reason in errors[:limit]:
        print(f"line {line}: {reason}", file=sys.stderr)
    if len(errors) > limit:
        print(f"... and {len(errors) - limit} more rejected lines", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except (InputError, ConfigError) as exc:
        print(f"dialer import: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
