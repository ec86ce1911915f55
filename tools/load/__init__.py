"""`make load`: gunicorn on the bench database, driven by locust from a second process (see __main__.py)."""
