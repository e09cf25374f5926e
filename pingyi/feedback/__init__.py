"""The feedback box (信息收集箱): the public, anonymous submission and what it shows (box), the
admins' reading, answering, publishing and turning entries into ledger items (answers)."""
