"""The runbook's alert and escalation rules: evaluation (`fn_alert_evaluate`, in SQL), the
payload sent, its signature, and the delivery log with retries."""
