"""Data files on the server: IDX image sets and uploaded CSV, NPZ and Parquet files."""
