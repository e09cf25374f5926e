"""From ballots to figures: tallies, roll-ups, turnout, suppression, trends, publication."""
