"""Database access: the embedded server, the connection pool, migrations and named queries."""
