"""dialer: an asyncio SIP outbound dialer for contact centres."""

__version__ = "0.1.0"
