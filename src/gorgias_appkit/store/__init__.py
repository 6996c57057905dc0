"""Storage: records, the SQL store, encryption at rest and migrations."""
