"""The gradq command line."""
