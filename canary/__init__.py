"""Canary analysis with Kayenta-compatible verdicts (``../shared/specs/canary-judge.md``)."""
