"""gunicorn settings for the Procfile's web process (research/ingest-calibration.md; bench/ingest.py)."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG") or None
