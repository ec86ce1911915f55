"""The desk's pages, one module per page: the account lists, the Account 360, the alerts inbox."""
