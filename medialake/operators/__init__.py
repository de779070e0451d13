"""Ray-free operators over records and Arrow batches: scan, probe, decode, sink."""
