"""gradq test suite."""
