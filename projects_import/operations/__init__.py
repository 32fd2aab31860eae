"""Operations on the data as a whole (SPEC §5.6, §5.7): the membership backfill, retention and
its daily scheduler, and the runbook's verification and smoke checks — one module each, shared
by the CLI verbs and the service."""
