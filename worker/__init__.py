"""Celery wiring and the running of one training job."""
