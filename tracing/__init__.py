"""Instrumentation for services (OpenTelemetry, Prometheus, ECS logs) and trace analytics."""
