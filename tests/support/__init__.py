"""Test-side helpers: receivers and an in-process fleet."""
