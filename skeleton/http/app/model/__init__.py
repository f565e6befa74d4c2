"""Plain data: what the service and the controllers exchange."""
