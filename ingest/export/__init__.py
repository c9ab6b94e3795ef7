"""Exports of the warehouse into files for other tools (Parquet for DuckDB, pandas, Spark)."""
