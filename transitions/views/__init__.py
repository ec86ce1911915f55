"""Pages for handovers, split by resource: board, one transition and its tasks, bulk handovers, playbooks, the brief."""
