"""Figure builders and small helpers shared by the dashboard pages (pure functions, testable)."""
