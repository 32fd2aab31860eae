"""Database access, and the only package that touches a connection: the connector (named
queries, transactions, the SQLSTATE → error table), the migration runner, the embedded server
and the schema snapshot."""
