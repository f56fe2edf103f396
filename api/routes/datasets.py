"""Upload, list, read and delete data sets."""

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response, UploadFile
from fastapi.routing import APIRoute

from api.deps import CurrentUser, SessionDep
from api.errors import error_responses
from api.schemas.datasets import DatasetPage, DatasetRead
from core import datasets
from core.datasets import DatasetInUse, DatasetNotFound, DatasetRejected, UploadTooLarge
from core.errors import GradqError, InvalidCursor, NotAuthenticated
from core.settings import get_settings

# room for the multipart boundaries and the form fields beside the file
FORM_OVERHEAD_BYTES = 64 * 1024


class LengthRequired(GradqError):
    status_code = 411


def _check_length(request: Request) -> None:
    """Refuse an upload by its declared length, before a byte of its body is read."""
    limit = get_settings().MAX_UPLOAD_BYTES
    declared = request.headers.get("content-length")
    if declared is None:
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            raise LengthRequired("send the upload with a Content-Length header")
        return
    if not declared.isdigit() or int(declared) > limit + FORM_OVERHEAD_BYTES:
        raise UploadTooLarge(
            f"the request declares {declared} bytes; files may have {limit:,} at most "
            "(GRADQ_MAX_UPLOAD_BYTES)"
        )


class UploadLimitRoute(APIRoute):
    """A route whose POST bodies are refused by length before FastAPI parses the form."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            if request.method == "POST":
                _check_length(request)
            return await handler(request)

        return limited


router = APIRouter(
    prefix="/datasets",
    tags=["datasets"],
    responses=error_responses(NotAuthenticated),
    route_class=UploadLimitRoute,
)


@router.post(
    "",
    response_model=DatasetRead,
    status_code=201,
    responses=error_responses(UploadTooLarge, LengthRequired, DatasetRejected),
)
def create_dataset(
    file: UploadFile,
    session: SessionDep,
    user: CurrentUser,
    target: Annotated[str | None, Form(max_length=200, description="CSV/Parquet target")] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
) -> DatasetRead:
    """Upload a CSV (with its target column named), an NPZ (arrays x, y) or a Parquet file."""
    settings = get_settings()
    dataset = datasets.store_upload(
        session,
        owner_id=user.id,
        source=file.file,
        filename=file.filename,
        name=name,
        target=target,
        data_dir=settings.DATA_DIR,
        max_bytes=settings.MAX_UPLOAD_BYTES,
    )
    try:
        session.commit()
    except Exception:
        datasets.discard_file(dataset, settings.DATA_DIR)
        raise
    return DatasetRead.of(dataset)


@router.get("", response_model=DatasetPage, responses=error_responses(InvalidCursor))
def list_datasets(
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> DatasetPage:
    """The caller's data sets, newest first."""
    page = datasets.list_for_owner(session, user=user, limit=limit, cursor=cursor)
    return DatasetPage(items=[DatasetRead.of(d) for d in page.items], next_cursor=page.next_cursor)


@router.get("/{dataset_id}", response_model=DatasetRead, responses=error_responses(DatasetNotFound))
def read_dataset(dataset_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> DatasetRead:
    """One data set: shapes, dtypes, rows, labels and class counts."""
    return DatasetRead.of(datasets.get_for_owner(session, dataset_id=dataset_id, user=user))


@router.delete(
    "/{dataset_id}", status_code=204, responses=error_responses(DatasetNotFound, DatasetInUse)
)
def delete_dataset(dataset_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Response:
    """Delete a data set and its file; refused while a queued or running job uses it."""
    dataset = datasets.get_for_owner(session, dataset_id=dataset_id, user=user)
    datasets.delete(session, dataset=dataset)
    session.commit()
    datasets.discard_file(dataset, get_settings().DATA_DIR)
    return Response(status_code=204)
