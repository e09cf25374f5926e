"""Opinion themes (意见主题): the free-text opinions of a closed campaign grouped by keyword
rules the tenant admin edits (``rules``; seed 002 第五篇's four themes by default), matched on
jieba's word segmentation (``grouping``), counted per theme and subtree by a worker job with the
small-cell rule (``counts``, ``job``), and turned into ledger items (``items``)."""
