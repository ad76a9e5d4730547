"""What the service tells its operators: metrics (and, later, logs and traces)."""
