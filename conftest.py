import os


def pytest_collection_modifyitems(config, items):
    """Integration tests need PostgreSQL, Redis and a real worker; CI's second pass sets BATON_INTEGRATION=1."""
    if os.environ.get("BATON_INTEGRATION") == "1":
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("integration") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected

