"""Code that runs inside the isolated worker processes. Job paths here are public (SPEC)."""
