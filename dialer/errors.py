"""The error tree every edge translates into (ARCHITECTURE.md habit 6).

Each error carries the data a user needs to act: which field, which line,
which rule. Edges catch library exceptions and raise one of these.
"""

from __future__ import annotations


class DialerError(Exception):
    """Base class of every error the dialer raises on purpose."""


class ConfigError(DialerError):
    """A configuration value is missing or invalid; ``field`` is its dotted path."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"config error at {field!r}: {reason}")
        self.field = field
        self.reason = reason


class InputError(DialerError):
    """A row of user input (CSV, manifest, API body) is invalid."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class ComplianceBlocked(DialerError):
    """A dial was refused by a compliance rule; ``rule`` names and cites it."""

    def __init__(self, rule: str, record_id: str, detail: str = "") -> None:
        super().__init__(f"record {record_id} blocked by {rule}" + (f": {detail}" if detail else ""))
        self.rule = rule
        self.record_id = record_id
        self.detail = detail


class InvalidTransition(DialerError):
    """A state machine received an event it cannot handle in its current state."""

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine}: can't handle {event} in state {state}")
        self.machine = machine
        self.state = state
        self.event = event


class SipFailure(DialerError):
    """The SIP edge could not do what was asked; ``code`` is the SIP status or 0."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"SIP failure {code}: {reason}")
        self.code = code
        self.reason = reason


class StaleLease(DialerError):
    """A result was reported with a fencing token that is no longer current."""

    def __init__(self, record_id: str, token: int) -> None:
        super().__init__(f"stale lease token {token} for record {record_id}")
        self.record_id = record_id
        self.token = token
