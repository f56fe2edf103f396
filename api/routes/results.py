"""A job's results: weights, network card, summary, predictions and plots."""

import threading
import uuid
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse
from safetensors.torch import load as load_tensors
from sqlalchemy.orm import Session
from torch import nn

from api.caching import cached_response, etag_of, remember
from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.routes.metrics import KeysQuery
from api.schemas.results import PredictionCreate, SummaryRead, Which
from core import artifacts, jobs, metrics, series
from core.artifacts import ArtifactNotFound
from core.errors import JobNotFound, NotAuthenticated, RequestRejected
from core.metrics import LR, ParameterRejected
from core.settings import get_settings
from models import FINISHED_STATUSES, Job
from training.plots import decision_boundary_png, plane_classifier, series_png
from training.predict import (
    NetworkCard,
    PredictInputError,
    Prediction,
    as_inputs,
    load_network,
    predict,
)
from training.summary import NetworkSummary

router = APIRouter(tags=["results"], responses=error_responses(NotAuthenticated, JobNotFound))

PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}}
LOSS_KEYS = ("train_loss", "val_loss")
NETWORKS_KEPT = 8

_networks: OrderedDict[tuple[uuid.UUID, str, str], nn.Module] = OrderedDict()
_networks_lock = threading.Lock()


def _missing(job: Job, what: str) -> str:
    if job.status not in FINISHED_STATUSES:
        return f"job {job.id} is {job.status.value}: its {what} are saved when it ends"
    return f"job {job.id} {job.status.value} and left no {what}"


def _card(job: Job) -> NetworkCard:
    raw = artifacts.read_json(job.id, artifacts.NETWORK, _missing(job, "results"))
    return NetworkCard.model_validate(raw)


def _weights_info(job: Job, card: NetworkCard, which: Which) -> str:
    if which not in card.weights:
        raise ArtifactNotFound(f"job {job.id} kept no {which} weights")
    return card.weights[which].sha256


def _network(job: Job, card: NetworkCard, which: Which) -> nn.Module:
    """The rebuilt network, kept for the next request on the same weights."""
    key = (job.id, which, _weights_info(job, card, which))
    with _networks_lock:
        if key in _networks:
            _networks.move_to_end(key)
            return _networks[key]
    data = artifacts.read_bytes(job.id, artifacts.WEIGHTS[which], _missing(job, "weights"))
    network = load_network(card, data)
    with _networks_lock:
        _networks[key] = network
        while len(_networks) > NETWORKS_KEPT:
            _networks.popitem(last=False)
    return network


@router.get(
    "/jobs/{job_id}/network",
    response_model=NetworkCard,
    responses=error_responses(ArtifactNotFound),
)
def read_job_network(job_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> NetworkCard:
    """How to rebuild the trained network: layers, input shape, how to read its outputs."""
    return _card(jobs.get_for_owner(session, job_id=job_id, user=user))


@router.get(
    "/jobs/{job_id}/weights",
    responses={
        **error_responses(ArtifactNotFound),
        200: {"content": {"application/octet-stream": {}}},
    },
)
def read_job_weights(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    which: Which = "final",
) -> Response:
    """The weights as safetensors; the header's metadata holds the network card."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    card = _card(job)
    etag = f'"{_weights_info(job, card, which)}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return FileResponse(
        artifacts.path(job.id, artifacts.WEIGHTS[which], _missing(job, "weights")),
        media_type="application/octet-stream",
        filename=f"{job.id}-{which}.safetensors",
        headers={"ETag": etag, "X-Epoch": str(card.weights[which].epoch)},
    )


@router.get(
    "/jobs/{job_id}/summary",
    response_model=SummaryRead,
    responses={**error_responses(ArtifactNotFound), 200: {"content": {"text/plain": {}}}},
)
def read_job_summary(
    job_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    format: Annotated[str, Query(pattern="^(json|text)$")] = "json",
) -> Response | SummaryRead:
    """The trained network's layers, output shapes and parameter counts."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    raw = artifacts.read_json(job.id, artifacts.SUMMARY, _missing(job, "summary"))
    summary = NetworkSummary.model_validate(raw)
    if format == "text":
        return PlainTextResponse(summary.format_table() + "\n")
    return SummaryRead(**summary.model_dump(), table=summary.format_table())


@router.post(
    "/jobs/{job_id}/predict",
    response_model=Prediction,
    responses=error_responses(ArtifactNotFound, ParameterRejected),
)
def predict_with_job(
    job_id: uuid.UUID, body: PredictionCreate, session: SessionDep, user: CurrentUser
) -> Prediction:
    """Outputs for a few samples, and class probabilities and labels for classifiers."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    card = _card(job)
    network = _network(job, card, body.which)
    try:
        batch = as_inputs(card, body.inputs, get_settings().MAX_PREDICT_ROWS)
        return predict(network, card, batch)
    except PredictInputError as error:
        raise ParameterRejected("inputs", str(error), location="body") from None


def _plot_keys(session: Session, job_id: uuid.UUID, keys: str | None) -> list[str]:
    recorded = metrics.recorded_keys(session, job_id=job_id)
    requested = [k.strip() for k in (keys or "").split(",") if k.strip()]
    if not requested:
        requested = [key for key in LOSS_KEYS if key in recorded] or recorded[:1]
    return metrics.select_keys(requested, recorded) or []


@router.get(
    "/jobs/{job_id}/plot.png",
    response_class=Response,
    responses={**PNG, **error_responses(ParameterRejected)},
)
def plot_job_metrics(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    keys: KeysQuery = None,
    log: Annotated[bool, Query(description="a logarithmic y axis, e.g. for the lr")] = False,
    max_points: Annotated[int, Query(ge=2, le=10_000)] = 2000,
) -> Response:
    """The chosen series (default train_loss and val_loss) over the epochs, as a PNG."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    last = metrics.last_epoch(session, job_id=job_id)
    etag = etag_of("plot", job_id, last, keys, log, max_points)
    if cached := cached_response(request, etag):
        return cached
    selected = _plot_keys(session, job_id, keys)
    rows: list[dict[str, Any]] = []
    if last and selected:
        rows = series.read_downsampled(
            session, job_id=job_id, first=1, last=last, keys=selected, max_points=max_points
        )
    lines = {
        key: ([row["epoch"] for row in rows], [row.get(key) for row in rows]) for key in selected
    }
    title = job.name or str(job.id)
    if keys and keys.strip() == LR:
        title += ": learning rate"
    return remember(etag, series_png(lines, title=title, log_y=log), "image/png")


@router.get(
    "/jobs/{job_id}/decision_boundary.png",
    response_class=Response,
    responses={**PNG, **error_responses(ArtifactNotFound, RequestRejected)},
)
def plot_decision_boundary(
    job_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    which: Which = "final",
    resolution: Annotated[int, Query(ge=10, le=500, description="grid points per axis")] = 200,
) -> Response:
    """For a classifier of 2-D points: the class it predicts over the plane, with the data."""
    job = jobs.get_for_owner(session, job_id=job_id, user=user)
    card = _card(job)
    if not plane_classifier(card):
        raise RequestRejected(
            f"a decision boundary needs a classifier of 2-D points; this network takes "
            f"{list(card.input_shape)} and its targets are {card.target_kind.value}"
        )
    network = _network(job, card, which)
    points = load_tensors(artifacts.read_bytes(job.id, artifacts.POINTS, _missing(job, "points")))
    title = f"{job.name or job.id} ({which} weights)"
    image = decision_boundary_png(
        network, card, points["x"], points["labels"], resolution=resolution, title=title
    )
    return Response(image, media_type="image/png")
