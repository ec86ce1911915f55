"""The desk's pages are tested with accounts' people and accounts (the permission table's cast)."""

from accounts.tests.conftest import *  # noqa: F403  (accounts, people, api and nothing_written)
