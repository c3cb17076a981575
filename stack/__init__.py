"""The embedded local stack: broker, PostgreSQL, stream worker and API on 127.0.0.1.

Started and stopped by PID from `make up` / `make down` / `make run`, and by the test harness.
When KAFKA_BOOTSTRAP_SERVERS or DATABASE_URL is set, that service is external and is not started.
"""
