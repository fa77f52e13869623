"""Where and by what a record was made: the machine's fingerprint and the code's
provenance, measured by the worker and by the parent's own records (tune, parity)."""
