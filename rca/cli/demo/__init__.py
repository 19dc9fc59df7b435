"""What `rca demo` replays: the bundled incident format and its replay through the real ingest code."""
