"""The import: the contract (validation, normalization, checksum) and the service that runs it."""
