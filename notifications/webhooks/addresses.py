"""Which webhook URLs Baton may post to: the check lives in core.net, shared with the team chat URL users save."""

from core.net import Target, UnsafeURL, check_url, private_allowed

__all__ = ["Target", "UnsafeURL", "check_url", "private_allowed"]
