"""Scheduled jobs: each reads only the work that is due (doti.schedule), never scans contracts or frames."""
