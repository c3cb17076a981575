"""The store: migrations, writes and the live queries, on PostgreSQL / TimescaleDB."""
