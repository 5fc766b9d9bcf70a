"""Redis Streams edge: publish events, follow them live."""

from dialer.bus.publisher import EventBus, decode_event

__all__ = ["EventBus", "decode_event"]
