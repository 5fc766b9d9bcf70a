"""SIP identities on the PJSIP thread: the default account and one per caller ID.

pjsua 2.12 takes the From header of a new call from its account (SipTxOption
has no per-call local URI before 2.13), so presenting a campaign's caller ID
means calling through an account whose ID is that number. Such accounts are
cheap (no registration) and cached; an idle one is evicted when the engine's
account table (PJSUA_MAX_ACC) runs short. The caller ID also goes out as
P-Asserted-Identity, which trunks use for the network-provided number.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

from dialer.sip.base import WorkerBase

CALLER_ID_RE = re.compile(r"^[+]?[0-9A-Za-z*#._-]{1,32}$")
MAX_CALLER_ID_ACCOUNTS = 6  # stock pjsua has 8 account slots; keep 2 for the default


def make_account_class(pj: Any, worker: Any) -> type:
    class EdgeAccount(pj.Account):  # type: ignore[misc, name-defined]
        """A dialer never takes calls: decline anything that comes in."""

        def onIncomingCall(self, prm: Any) -> None:  # noqa: N802 - pjsua2 name
            worker.guard(worker.reject_incoming, self, prm.callId)

    return EdgeAccount


class AccountHandlers(WorkerBase):
    """Mixin of PjsipWorker: accounts, URIs and identity headers."""

    def __init__(self) -> None:
        self.account: Any = None
        self.AccountClass: Any = None
        self.transport_id = -1
        # caller id -> [account, active legs]
        self.cid_accounts: OrderedDict[str, list[Any]] = OrderedDict()
        self.default_legs = 0

    # ------------------------------------------------------------------ setup

    def setup_accounts(self) -> None:
        from dialer.sip.legs import make_call_class

        self.AccountClass = make_account_class(self.pj, self)
        self.CallClass = make_call_class(self.pj, self)
        self.account = self._create_account(self._local_uri("dialer", display="dialer"))

    def _create_account(self, id_uri: str) -> Any:
        pj, s = self.pj, self.settings
        cfg = pj.AccountConfig()
        cfg.idUri = id_uri
        cfg.sipConfig.transportId = self.transport_id
        if s.username:
            cred = pj.AuthCredInfo("digest", s.realm or "*", s.username, 0, s.password)
            cfg.sipConfig.authCreds.append(cred)
        media = cfg.mediaConfig.transportConfig
        media.port = s.rtp_port_start
        media.portRange = 2 * s.max_calls
        media.boundAddress = s.bind_host
        account = self.AccountClass()
        account.create(cfg)
        return account

    def teardown_accounts(self) -> None:
        for entry in self.cid_accounts.values():
            _shutdown(entry[0])
        self.cid_accounts.clear()
        if self.account is not None:
            _shutdown(self.account)
            self.account = None

    # ------------------------------------------------------------------ identities

    def _local_uri(self, user: str, display: str = "") -> str:
        s = self.settings
        params = ";transport=tcp" if s.transport == "tcp" else ""
        name = f'"{display}" ' if display else ""
        return f"{name}<sip:{user}@{s.bind_host}:{s.bind_port}{params}>"

    def customer_uri(self, number: str) -> str:
        uri = self.settings.customer_uri(number)
        return uri + ";transport=tcp" if self.settings.transport == "tcp" else uri

    def asserted_identity(self, caller_id: str) -> str:
        if not caller_id or not CALLER_ID_RE.match(caller_id):
            return ""
        return f"<sip:{caller_id}@{self.settings.bind_host}>"

    def account_for(self, caller_id: str) -> tuple[Any, str]:
        """The account to call from, and the key to release it with when the leg ends."""
        if not caller_id or not CALLER_ID_RE.match(caller_id):
            if caller_id:
                self.log.warning("sip.caller_id_ignored", caller_id=caller_id)
            self.default_legs += 1
            return self.account, ""
        entry = self.cid_accounts.get(caller_id)
        if entry is None:
            if len(self.cid_accounts) >= MAX_CALLER_ID_ACCOUNTS and not self._evict_idle():
                self.log.warning("sip.caller_id_accounts_full", caller_id=caller_id)
                self.default_legs += 1
                return self.account, ""
            account = self._create_account(self._local_uri(caller_id, display=caller_id))
            entry = self.cid_accounts[caller_id] = [account, 0]
        self.cid_accounts.move_to_end(caller_id)
        entry[1] += 1
        return entry[0], caller_id

    def release_account(self, key: str) -> None:
        if not key:
            self.default_legs = max(0, self.default_legs - 1)
            return
        entry = self.cid_accounts.get(key)
        if entry is not None:
            entry[1] = max(0, entry[1] - 1)

    def _evict_idle(self) -> bool:
        for key, entry in self.cid_accounts.items():  # least recently used first
            if entry[1] == 0:
                del self.cid_accounts[key]
                _shutdown(entry[0])
                return True
        return False

    def reject_incoming(self, account: Any, pjsua_call_id: int) -> None:
        pj = self.pj
        call = pj.Call(account, pjsua_call_id)
        prm = pj.CallOpParam()
        prm.statusCode = 480  # we dial out; we never take calls
        try:
            call.hangup(prm)
        except pj.Error:
            self.graveyard.append(call)  # never let a live Call's destructor hang up (and throw)
        self.log.info("sip.incoming_call_rejected")


def _shutdown(account: Any) -> None:
    try:
        account.shutdown()
    except Exception:  # noqa: BLE001 - best effort at teardown
        pass
