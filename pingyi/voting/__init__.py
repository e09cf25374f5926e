"""Links and ballots: issuing, slips, casting, paper double entry, interview samples."""
