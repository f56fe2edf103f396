"""gradq's Python client: submit training specs, follow jobs, read metrics and weights."""

from gradq_client.client import Client
from gradq_client.config import ClientConfig, load_config
from gradq_client.errors import APIError, GradqClientError, ServerUnreachable, Unsupported
from gradq_client.job import FINISHED, Job, JobStatus, StreamEvent

__all__ = [
    "FINISHED",
    "APIError",
    "Client",
    "ClientConfig",
    "GradqClientError",
    "Job",
    "JobStatus",
    "ServerUnreachable",
    "StreamEvent",
    "Unsupported",
    "load_config",
]
