"""The reconciliation resource: drift items, runs, schedules, resync."""
