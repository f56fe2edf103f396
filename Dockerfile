FROM python:3.11-slim

# The default PyPI wheel for Linux x86_64 bundles the CUDA runtime the worker needs.
ARG TORCH_SPEC="torch==2.13.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADQ_DATA_DIR=/data

RUN groupadd --system --gid 1000 gradq \
    && useradd --system --uid 1000 --gid gradq --create-home --home-dir /home/gradq gradq \
    && mkdir -p /data \
    && chown gradq:gradq /data

WORKDIR /app

# Own layer so that code changes do not reinstall torch.
RUN pip install "${TORCH_SPEC}"

COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY core ./core
COPY models ./models
COPY training ./training
COPY worker ./worker
COPY cli ./cli
COPY gradq_client ./gradq_client
COPY migrations ./migrations
COPY examples ./examples

RUN pip install -e .

USER gradq

EXPOSE 8000

CMD ["uvicorn", "api.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
