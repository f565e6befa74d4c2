"""HTTP controllers."""
