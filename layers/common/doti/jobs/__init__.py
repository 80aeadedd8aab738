"""Scheduled jobs: each reads only the work that is due (doti.jobs.schedule), never scans contracts or frames."""
