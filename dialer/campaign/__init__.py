"""Campaign core: records, dispositions, retry rules, callbacks and state machines.

Pure (ARCHITECTURE.md habit 1): nothing here imports asyncio or redis, or reads the
clock; every function that needs the time takes ``now`` (Unix epoch seconds).
"""
