"""API tokens: integration tokens (a service identity of their own) and personal tokens (acting as their user)."""
