"""The rectification ledger (整改台账): items from verdicts, opinions, themes and feedback,
their state machine and history (ledger), evidence files (evidence), overdue marking and
counts (overdue), and the ``pingyi rectification`` command (cli)."""
