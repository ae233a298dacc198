"""The Parquet lake: file layout, durable writes and compaction."""
