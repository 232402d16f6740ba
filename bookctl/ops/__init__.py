"""Running bookctl as a service: Prometheus metrics, readiness checks, structured request logs, shutdown."""
