"""Plain data: what the handlers receive, bound and validated at the edge."""
