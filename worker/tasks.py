"""Thin Celery task wrappers; the work lives in worker.runner."""

from worker.celery_app import celery_app
from worker.runner import run_next
from worker.sweeper import wake_next


@celery_app.task(name="training.run_job", ignore_result=True)  # type: ignore[untyped-decorator]
def run_training_job(job_id: str) -> None:
    """Wake-up for job_id: run the next job in fair order, which may be another one."""
    del job_id
    if run_next() is not None:
        # the slot this job held is free again: a job held back by a limit may go now
        wake_next()
