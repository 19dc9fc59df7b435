"""Scheduled jobs of the workers: the scheduler, run status, bad-input accounting, self-metrics."""
