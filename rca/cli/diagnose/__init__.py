"""`rca diagnose`: exported case folders through the same ingest code and Infer, on a throwaway graph."""
