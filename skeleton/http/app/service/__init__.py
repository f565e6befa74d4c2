"""Business logic, between controllers and repositories."""
