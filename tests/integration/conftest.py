"""Shared Redis fixtures for integration tests (any module may use them).

- ``redis_url`` (session): the shared server at 127.0.0.1:6379 when it answers, on a
  dedicated DB (``DIALER_TEST_REDIS_DB``, default 12); otherwise a private
  ``redis-server`` started on a free port for the session (no persistence).
  ``DIALER_TEST_REDIS_URL`` forces a URL; ``DIALER_TEST_REDIS_SHARED=none`` forces the
  private server (``host:port`` names another shared one).
- ``redis_prefix``: a key prefix unique to the test, e.g. ``t:1a2b3c4d``.
- ``redis_client``: ``redis.asyncio.Redis`` on ``redis_url``; every key under
  ``redis_prefix`` is deleted after the test, whatever happened.

Tests must put every key they create under ``redis_prefix``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio as aioredis

SHARED_HOST, SHARED_PORT = "127.0.0.1", 6379


def _answers(host: str, port: int) -> bool:
    try:
        client = redis.Redis(host=host, port=port, socket_connect_timeout=0.5, socket_timeout=1)
        ok = bool(client.ping())
        client.close()
        return ok
    except (redis.RedisError, OSError):
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    db = int(os.environ.get("DIALER_TEST_REDIS_DB", "12"))
    if os.environ.get("DIALER_TEST_REDIS_URL"):
        yield os.environ["DIALER_TEST_REDIS_URL"]
        return
    shared = os.environ.get("DIALER_TEST_REDIS_SHARED", f"{SHARED_HOST}:{SHARED_PORT}")
    if shared != "none":
        host, _, port = shared.rpartition(":")
        if _answers(host, int(port)):
            yield f"redis://{host}:{port}/{db}"
            return
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no Redis at 127.0.0.1:6379 and no redis-server to start one")
    workdir = tempfile.mkdtemp(prefix="dialer-test-redis-")
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"private redis-server on port {port} did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/{db}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_prefix() -> str:
    return f"t:{uuid.uuid4().hex[:10]}"


async def delete_prefix(client: aioredis.Redis, prefix: str) -> int:
    """Delete every key starting with ``prefix:`` (or equal to it); returns how many."""
    removed = 0
    batch: list[bytes | str] = []
    for pattern in (f"{prefix}:*", prefix):
        async for key in client.scan_iter(match=pattern, count=2000):
            batch.append(key)
            if len(batch) >= 1000:
                removed += int(await client.unlink(*batch))
                batch = []
    if batch:
        removed += int(await client.unlink(*batch))
    return removed


@pytest.fixture
async def redis_client(redis_url: str, redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await delete_prefix(client, redis_prefix)
        await client.aclose()
