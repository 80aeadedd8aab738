"""The scheduled and queued jobs: retention, purge, suspension, termination, re-mask, the upload processor."""
