"""The HTTP API the console, release tooling and webhooks use."""
