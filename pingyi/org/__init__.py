"""The organization: tenants and accounts, the unit tree and its people, imports of both."""
