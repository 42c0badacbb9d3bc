"""The database: tables, the queries on them, locks, the audit log and the outbox."""
