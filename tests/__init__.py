"""Cross-cutting tests that drive the real parts: PostgreSQL, Redis, Celery, Chromium."""
