"""Integrity points and grades (诚信积分, 分类管理): rules, set-based recomputation, explanation.

The score is for reference in 分类管理 only: it never alone decides a denial (PIPL art. 24),
and every point is traced to a record and a rule that the person can see and dispute.
"""
