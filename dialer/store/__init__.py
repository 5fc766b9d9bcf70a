"""Redis edges: the record store (records, leases, DNC lists) and the event bus."""
