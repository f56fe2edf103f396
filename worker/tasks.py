"""Thin Celery task wrappers; the work lives in worker.runner."""

import uuid

from worker.celery_app import celery_app
from worker.runner import run_job


@celery_app.task(name="training.run_job", ignore_result=True)  # type: ignore[untyped-decorator]
def run_training_job(job_id: str) -> None:
    run_job(uuid.UUID(job_id))
