"""The portfolio page: the book as managers and admins read it (a CSM sees their own), in charts with their tables."""
