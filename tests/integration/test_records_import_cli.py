"""``dialer import`` end to end: per-line errors, summary, exit codes, DNC files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dialer.store.importer import main


@pytest.fixture
def sync_prefix(redis_url: str, redis_prefix: str) -> Iterator[str]:
    yield redis_prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{redis_prefix}:*", count=1000))
    if keys:
        client.unlink(*keys)
    client.close()


def run(args: list[str], url: str, prefix: str) -> int:
    return main([*args, "--config", "none", "--redis-url", url, "--prefix", prefix])


def test_import_reports_lines_and_summary(tmp_path: Path, redis_url: str, sync_prefix: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "list.csv"
    f.write_text("id,first_name,last_name,phone,phone2,phone3,timezone,priority\n"
                 "a,Ann,Lee,(212) 555-1234,,,,5\n"
                 "b,Bob,Ray,12,,,,\n"
                 "c,Cy,Dee,2125551235,,,Mars/Base,\n"
                 "d,\"unterminated\n")
    assert run(["demo", str(f)], redis_url, sync_prefix) == 1
    out, err = capsys.readouterr()
    assert "1 records imported, 3 rows rejected" in out
    assert "line 3: phone: invalid number '12' for region US" in err
    assert "line 4: timezone: unknown time zone 'Mars/Base'" in err
    assert "line 5:" in err
    # again: nothing overwritten, every row reported
    assert run(["demo", str(f)], redis_url, sync_prefix) == 1
    out, err = capsys.readouterr()
    assert "0 records imported" in out and "already stored" in err


def test_bad_mapping_and_missing_file(tmp_path: Path, redis_url: str, sync_prefix: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "list.csv"
    f.write_text("Ref,Tel\nx,2125551234\n")
    assert run(["demo", str(f), "--mapping", "Tel=phone,Ref=colour"], redis_url,
               sync_prefix) == 2
    assert "mapping.Ref: unknown field 'colour'" in capsys.readouterr().err
    assert run(["demo", str(f), "--mapping", "Tel=phone,Ref=id"], redis_url, sync_prefix) == 0
    assert "1 records imported" in capsys.readouterr().out
    assert run(["demo", str(tmp_path / "nope.csv")], redis_url, sync_prefix) == 2
    assert "cannot read" in capsys.readouterr().err


def test_dnc_file(tmp_path: Path, redis_url: str, sync_prefix: str,
                  capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "dnc.txt"
    f.write_text("number\n(212) 555-1234\n+1 415 555 0100\nnot a number\n")
    assert run(["demo", str(f), "--dnc"], redis_url, sync_prefix) == 1
    out, err = capsys.readouterr()
    assert "2 numbers added to the campaign demo do-not-call list" in out
    assert "line 4:" in err
    client = redis.Redis.from_url(redis_url)
    assert client.sismember(f"{sync_prefix}:campaign:demo:dnc", "+12125551234")
    client.close()


def test_progress_bar_for_large_files(tmp_path: Path, redis_url: str, sync_prefix: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "big.csv"
    rows = "".join(f"r{i},Name{i},Last{i},+1212{200 + i // 10000:03d}{i % 10000:04d},,,,,"
                   f"{'x' * 40}\n" for i in range(14000))
    f.write_text("id,first_name,last_name,phone,phone2,phone3,timezone,priority,notes\n" + rows)
    assert f.stat().st_size >= 1_000_000
    assert run(["demo", str(f)], redis_url, sync_prefix) == 0
    out, err = capsys.readouterr()
    assert "14000 records imported" in out
    assert "import: 100%" in err  # not a terminal: plain progress lines
