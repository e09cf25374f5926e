"""Report files (统计表, 意见汇总表, 评议工作总结, 汇总报告) and their charts."""
