"""Demo tenants and generated ballots at the seeds' scale."""
