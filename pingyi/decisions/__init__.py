"""结果运用: the tenant's decisions about subjects after reviewing their results (records and the
exported list). Admin-only data: no evaluator, public page or oversight committee reads it."""
