"""The import: the contract (validation, normalization, checksum), the decoding of JSON/CSV
bodies, the service (the import manager) that stages, merges and records each request, and the
pipeline that takes one request from its headers, query and body to its outcome."""
