"""The import: the contract (validation, normalization, checksum), the decoding of JSON/CSV
bodies, and the service (the import manager) that stages, merges and records each request."""
