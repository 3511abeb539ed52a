"""What a study teaches once it has run: pure functions of trial records (Pareto fronts, importance, tables)."""
