"""Redis edge of calling records: the record store, leases, DNC lists, CSV import."""
