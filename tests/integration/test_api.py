"""The agent API over HTTP against real Redis (aiohttp test client; the daemon is a fake)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from dialer.api import make_app, start_api
from dialer.campaign.policy import CampaignPolicy
from dialer.campaign.records import FieldDef, FieldKind, Phone, Record
from dialer.errors import InvalidTransition
from dialer.store.dnc import DncList
from dialer.store.records import LeaseRef, RecordStore

# Monday 2024-06-10 15:00 UTC = 11:00 in New York: inside calling hours.
NOW = dt.datetime(2024, 6, 10, 15, tzinfo=dt.UTC).timestamp()
NY1, NY2 = "+12125551234", "+12125551235"
POLICY = CampaignPolicy(fields=[
    FieldDef(name="balance", kind=FieldKind.NUMBER, editable=False),
    FieldDef(name="vip", kind=FieldKind.BOOLEAN),
])


@dataclass
class FakeControl:
    """Records what the API asks of the daemon; agent states as the daemon would keep."""

    states: dict[str, str]
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    refuse: bool = False  # agent_ready / dial_for_agent raise InvalidTransition
    current: dict[str, dict[str, Any]] = field(default_factory=dict)  # agent -> call

    def agent_ready(self, agent_id: str) -> None:
        self.calls.append(("ready", agent_id))
        if self.refuse:
            raise InvalidTransition(f"agent {agent_id}", self.states[agent_id], "ready")
        self.states[agent_id] = "ready"

    def agent_not_ready(self, agent_id: str) -> None:
        self.calls.append(("not_ready", agent_id))
        self.states[agent_id] = "not_ready"

    def agents(self) -> list[dict[str, Any]]:
        return [{"agent": a, "state": s} for a, s in sorted(self.states.items())]

    def agent_call(self, agent_id: str) -> dict[str, Any] | None:
        self.calls.append(("call", agent_id))
        if agent_id not in self.states:
            raise KeyError(agent_id)
        return self.current.get(agent_id)

    async def dial_for_agent(self, campaign: str, ref: LeaseRef, agent_id: str) -> str:
        self.calls.append(("dial", campaign, ref, agent_id))
        if self.refuse:
            raise InvalidTransition(f"agent {agent_id}", "reserved", "dial_for_agent")
        return "call-1"


@dataclass
class Api:
    client: TestClient[Any, Any]
    store: RecordStore
    control: FakeControl

    async def post(self, path: str, body: Any = None, *, raw: bytes | None = None,
                   status: int = 200) -> Any:
        data = raw if raw is not None else None
        resp = await self.client.post(path, json=body if raw is None else None, data=data)
        text = await resp.text()
        assert resp.status == status, text
        return await resp.json() if resp.status != 204 else None

    async def get(self, path: str, status: int = 200) -> Any:
        resp = await self.client.get(path)
        assert resp.status == status, await resp.text()
        return await resp.json()

    async def preview(self, agent: str = "a1") -> Any:
        return await self.post("/campaigns/demo/preview", {"agent": agent})

    def act(self, rid: str, action: str) -> str:
        return f"/campaigns/demo/records/{rid}/{action}"


def rec(rid: str, number: str, priority: int = 0, **fields: Any) -> Record:
    return Record(id=rid, numbers=[Phone(number=number)], priority=priority, fields=fields,
                  timezone="America/New_York")


@pytest.fixture
async def api(redis_client: aioredis.Redis, redis_prefix: str) -> AsyncIterator[Api]:
    store = RecordStore(redis_client, campaign="demo", policy=POLICY, prefix=redis_prefix)
    await store.import_records([rec("r1", NY1, 5, balance=10), rec("r2", NY2, 1)], now=NOW - 60)
    control = FakeControl({"a1": "ready", "a2": "ready"})
    app = make_app(lambda c: {"demo": store}[c], control, agents={"a1", "a2"},
                   global_dnc=DncList(redis_client, f"{redis_prefix}:dnc"), clock=lambda: NOW)
    async with TestClient(TestServer(app)) as client:
        yield Api(client, store, control)


async def test_preview_accept_complete(api: Api) -> None:
    p = await api.preview("a1")
    assert p["lease"] == {"record_id": "r1", "token": p["token"]}
    assert p["number"] == NY1 and p["record"]["fields"] == {"balance": 10}
    lease = {"agent": "a1", "token": p["token"]}
    accepted = await api.post(api.act("r1", "accept"), lease)
    assert accepted["state"] == "accepted" and accepted["call_id"] == "call-1"
    assert api.control.calls == [("dial", "demo", LeaseRef(record_id="r1", token=p["token"]),
                                  "a1")]
    done = await api.post(api.act("r1", "complete"), {
        **lease, "disposition": "Sale", "notes": "signed up", "fields": {"vip": "yes"}})
    assert done["state"] == "done" and done["final"] == "Sale"
    assert api.control.calls[-1] == ("ready", "a1")
    r = await api.get("/campaigns/demo/records/r1")
    assert r["state"] == "done" and r["record"]["fields"] == {"balance": 10, "vip": True}
    assert [h["kind"] for h in r["history"]] == ["offer", "accept", "attempt", "final"]
    assert r["history"][2]["notes"] == "signed up"
    counts = await api.get("/campaigns/demo/counts")
    assert counts["counts"]["done"] == 1 and counts["stats"]["final:Sale"] == 1


async def test_reject_makes_agent_not_ready_and_record_due_first(api: Api) -> None:
    p = await api.preview("a1")
    old = {"agent": "a1", "token": p["token"]}
    r = await api.post(api.act("r1", "reject"), {**old, "notes": "wrong script"})
    assert r["state"] == "pending" and r["agent_state"] == "not_ready"
    assert api.control.calls == [("not_ready", "a1")]
    assert (await api.get("/campaigns/demo/counts"))["counts"]["due_now"] == 2
    again = await api.preview("a2")  # back at the top, above r2
    assert again["record_id"] == "r1" and again["token"] > p["token"]
    stale = await api.post(api.act("r1", "skip"), old, status=409)
    assert stale["field"] == "token"
    await api.post(api.act("r1", "skip"), {"agent": "a2", "token": again["token"]})


async def test_done_and_stop_and_done(api: Api) -> None:
    p = await api.preview("a1")
    lease = {"agent": "a1", "token": p["token"]}
    err = await api.post(api.act("r1", "done"), {**lease, "disposition": "Sale"}, status=409)
    assert err["state"] == "offered" and err["event"] == "complete"  # not dialed yet
    await api.post(api.act("r1", "accept"), lease)
    r = await api.post(api.act("r1", "done"), {**lease, "disposition": "Not Interested",
                                               "stop": True})
    assert r["state"] == "done" and r["agent_state"] == "not_ready"
    assert api.control.calls[-1] == ("not_ready", "a1")
    p = await api.preview("a2")
    await api.post(api.act("r2", "accept"), {"agent": "a2", "token": p["token"]})
    api.control.refuse = True  # the daemon refuses Ready now: the record action still stands
    r = await api.post(api.act("r2", "done"), {"agent": "a2", "token": p["token"],
                                               "disposition": "Call Back"})
    assert r["state"] == "pending" and "agent_error" in r


async def test_bad_bodies_name_the_field(api: Api) -> None:
    p = await api.preview("a1")
    lease = {"agent": "a1", "token": p["token"]}
    await api.post(api.act("r1", "accept"), lease)
    url = api.act("r1", "complete")
    cases: list[tuple[Any, int, str]] = [
        (b"{not json", 400, "body"),
        (b"", 400, "body"),
        ({"agent": "a1", "token": "x", "disposition": "Sale"}, 400, "token"),
        ({"agent": "a1", "token": p["token"]}, 400, "disposition"),
        ({**lease, "disposition": "Sale", "dispositon": "x"}, 400, "dispositon"),
        ({**lease, "disposition": "Nope"}, 400, "disposition"),
        ({**lease, "disposition": "Max Attempts"}, 400, "disposition"),  # system only
        ({**lease, "disposition": "Sale", "fields": {"vip": "maybe"}}, 400, "fields.vip"),
        ({**lease, "disposition": "Sale", "fields": {"vip": [1]}}, 400, "fields"),
        ({**lease, "disposition": "Sale", "fields": {"zzz": 1}}, 400, "fields.zzz"),
        ({**lease, "disposition": "Sale", "fields": {"balance": 0}}, 403, "fields.balance"),
        ({**lease, "disposition": "Sale", "callback": {"at": 5, "x": 1}}, 400, "callback.x"),
    ]
    for body, status, fld in cases:
        if isinstance(body, bytes):
            err = await api.post(url, raw=body, status=status)
        else:
            err = await api.post(url, body, status=status)
        assert err["field"] == fld, (body, err)
        assert err["error"]
    # none of them changed the record: it is still this agent's to complete
    assert (await api.get("/campaigns/demo/records/r1"))["state"] == "accepted"
    await api.post(url, {**lease, "disposition": "Sale"})


async def test_unknown_campaign_agent_record_route(api: Api) -> None:
    err = await api.get("/campaigns/nope/counts", status=404)
    assert err["field"] == "campaign"
    err = await api.post("/campaigns/demo/preview", {"agent": "zz"}, status=404)
    assert err["field"] == "agent"
    err = await api.get("/campaigns/demo/records/nope", status=404)
    assert err["field"] == "record_id"
    err = await api.post(api.act("nope", "skip"), {"agent": "a1", "token": 3}, status=404)
    assert err["field"] == "record_id"
    err = await api.get("/no/such/route", status=404)
    assert err["error"]
    resp = await api.client.put("/campaigns/demo/counts")
    assert resp.status == 405 and "error" in await resp.json()


async def test_reschedule_refusals_and_ranges(api: Api) -> None:
    p = await api.preview("a1")
    lease = {"agent": "a1", "token": p["token"]}
    url = api.act("r1", "reschedule")
    past = await api.post(url, {**lease, "at": "2024-06-10T09:00",
                                "timezone": "America/New_York"}, status=422)
    assert past["field"] == "at" and past["rule"] == "callback.past"
    late = await api.post(url, {**lease, "at": "2024-06-10T22:30",
                                "timezone": "America/New_York"}, status=422)
    assert late["rule"] == "calling_hours" and "310.4(c)" in late["citation"]
    zone = await api.post(url, {**lease, "at": "tomorrow", "timezone": "Mars/Base"},
                          status=400)
    assert zone["field"] == "timezone"
    bad = await api.post(url, {**lease, "at": "whenever"}, status=400)
    assert bad["field"] == "at"
    ok = await api.post(url, {**lease, "at": "tomorrow morning", "personal": True})
    tomorrow_9 = dt.datetime(2024, 6, 11, 13, tzinfo=dt.UTC).timestamp()  # 09:00 in NY
    assert ok["state"] == "pending" and ok["due"] == tomorrow_9
    r = await api.get("/campaigns/demo/records/r1")
    assert r["progress"]["callback"]["personal"] is True


async def test_decline_later_and_do_not_call(api: Api) -> None:
    p = await api.preview("a1")
    r = await api.post(api.act("r1", "decline"), {"agent": "a1", "token": p["token"],
                                                  "reason": "call_later", "at": "evening"})
    assert r["state"] == "pending" and r["due"] == dt.datetime(
        2024, 6, 10, 21, tzinfo=dt.UTC).timestamp()  # 17:00 in New York
    p = await api.preview("a1")
    assert p["record_id"] == "r2"
    err = await api.post(api.act("r2", "decline"), {"agent": "a1", "token": p["token"],
                                                    "reason": "later"}, status=400)
    assert err["field"] == "reason"
    r = await api.post(api.act("r2", "decline"), {"agent": "a1", "token": p["token"],
                                                  "reason": "do_not_call"})
    assert r["state"] == "done" and r["dnc_added"] == [NY2]
    assert (await api.get(f"/campaigns/demo/dnc/{NY2}"))["listed"] is True


async def test_dnc_numbers_are_never_claimed(api: Api) -> None:
    added = await api.post("/campaigns/demo/dnc", {"numbers": ["(212) 555-1234"]})
    assert added == {"list": "demo", "numbers": [NY1], "added": 1}
    assert (await api.post("/dnc", {"numbers": [NY2]}))["added"] == 1
    err = await api.post("/dnc", {"numbers": [NY2, "555"]}, status=400)
    assert err["field"] == "numbers[1]"
    assert (await api.get("/dnc/2125551235"))["listed"] is True
    assert await api.post("/campaigns/demo/preview", {"agent": "a1"}, status=204) is None
    for rid in ("r1", "r2"):
        r = await api.get(f"/campaigns/demo/records/{rid}")
        assert r["state"] == "done"
        assert r["history"][-1]["disposition"] == "Do Not Call"
    resp = await api.client.delete("/dnc", json={"numbers": [NY2]})
    assert resp.status == 200 and (await resp.json())["removed"] == 1


async def test_accept_needs_a_ready_agent_and_a_dial(api: Api) -> None:
    p = await api.preview("a1")
    lease = {"agent": "a1", "token": p["token"]}
    api.control.states["a1"] = "not_ready"
    err = await api.post(api.act("r1", "accept"), lease, status=409)
    assert err["field"] == "agent" and err["state"] == "not_ready"
    assert (await api.get("/campaigns/demo/records/r1"))["state"] == "offered"
    api.control.states["a1"] = "ready"
    api.control.refuse = True  # the daemon cannot dial after all: the record goes back
    err = await api.post(api.act("r1", "accept"), lease, status=409)
    assert err["released"] is True
    assert (await api.get("/campaigns/demo/records/r1"))["state"] == "pending"


async def test_agent_presence(api: Api) -> None:
    assert (await api.get("/agents"))["agents"][0] == {"agent": "a1", "state": "ready"}
    r = await api.post("/agents/a1/not-ready")
    assert r == {"agent": "a1", "state": "not_ready"}
    assert (await api.post("/agents/a1/ready"))["state"] == "ready"
    assert (await api.post("/agents/zz/ready", status=404))["field"] == "agent"
    assert (await api.get("/agents/a1/call", status=404))["field"] == "agent"
    call = {"campaign": "demo", "call_id": "c9", "record_id": "r1", "token": 7, "number": NY1}
    api.control.current["a1"] = call
    assert await api.get("/agents/a1/call") == call
    api.control.refuse = True
    err = await api.post("/agents/a1/ready", status=409)
    assert err["state"] == "ready" and err["event"] == "ready"


async def test_no_daemon_no_token_and_start_api(redis_client: aioredis.Redis,
                                                redis_prefix: str) -> None:
    store = RecordStore(redis_client, campaign="demo", policy=POLICY, prefix=redis_prefix)
    app = make_app(lambda c: {"demo": store}[c], None, agents={"a1"}, token="s3cret",
                   clock=lambda: NOW)
    runner = await start_api(app, "127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        auth = {"Authorization": "Bearer s3cret"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/health") as resp:
                assert resp.status == 200 and (await resp.json())["daemon"] is False
            async with http.get(f"{base}/agents") as resp:
                assert resp.status == 401
            async with http.get(f"{base}/agents", headers=auth) as resp:
                assert resp.status == 503
            async with http.post(f"{base}/dnc", json={"numbers": [NY1]}, headers=auth) as resp:
                assert resp.status == 404  # no global list configured
            async with http.post(f"{base}/campaigns/demo/preview", json={"agent": "a1"},
                                 headers=auth) as resp:
                assert resp.status == 204
    finally:
        await runner.cleanup()
