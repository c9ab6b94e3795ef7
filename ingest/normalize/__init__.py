"""Normalisation: pure functions from a platform payload to `Post` / `Rejected` / `Deletion`. No I/O here."""
