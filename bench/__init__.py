"""`make bench`: query and sink benchmarks on a national data set, next to raw SQL (not a test)."""
