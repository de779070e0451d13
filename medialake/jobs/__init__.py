"""What a user runs: ingest, search and the CLI. Thin wrappers over the library."""
