"""The typed run record: its fields and their rules, upgrades of older versions, and the
files that hold it, written atomically."""
