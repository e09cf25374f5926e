"""Preparing a campaign: forms and scales, subjects, evaluator categories, rules, the lifecycle."""
