"""enqueue_training: the only place that sends a training message."""

import uuid

from core.settings import get_settings
from worker.celery_app import celery_app

RUN_JOB_TASK = "training.run_job"


def enqueue_training(job_id: uuid.UUID) -> None:
    """Wake a worker for job_id; call only after the job row is committed."""
    celery_app.send_task(
        RUN_JOB_TASK,
        args=[str(job_id)],
        task_id=str(job_id),
        queue=get_settings().TRAINING_QUEUE,
    )
