"""gunicorn settings for the Procfile's web process (sync workers: research/ingest-calibration.md)."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG") or None
