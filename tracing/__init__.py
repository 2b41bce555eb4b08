"""Instrumentation for services (OpenTelemetry, Prometheus, ECS logs); trace analytics later."""
