"""Seasons (年度评议, 统一部署): an oversight tenant pushes a campaign plan down to its
subordinates (``plan``, ``issuing``), watches who runs it (``watch``: states, turnout against
the line, deadlines, reminders as notices) and receives their 统计表 and 总结 up
(``submissions``). Every read or write across the tenant boundary goes through ``crossing``."""
