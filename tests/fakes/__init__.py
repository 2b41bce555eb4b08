"""Fakes of the external services that cannot run here, shared by every test."""
