"""The telemetry store: the data model, the embedded DuckDB store and its read interfaces."""
