"""Backends beyond the embedded DuckDB store: Prometheus-API engines for metrics, Elasticsearch for logs."""
