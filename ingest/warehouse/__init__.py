"""The warehouse: every line of SQL in wirewatch lives in this package."""
