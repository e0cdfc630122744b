# syntax=docker/dockerfile:1.7
# carrier-simulator: the project's own carrier tracking API simulator (realistic latency, errors,
# 429s, parcels that progress over time), shipped in the orderlens library as
# `orderlens carrier-simulator`. For local runs, demos and load tests only.
# Build from the repository root:
#   docker build -f deploy/docker/carrier-simulator.Dockerfile -t orderlens/carrier-simulator .

ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY tools/pyproject.toml tools/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package orderlens-devtools

# The simulator is dev tooling: it lives in orderlens-devtools, which no service image installs.
COPY shared/src shared/src
COPY tools/src tools/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package orderlens-devtools

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="orderlens-carrier-simulator" \
      org.opencontainers.image.description="Carrier tracking API simulator for local runs and load tests" \
      org.opencontainers.image.source="https://github.com/orderlens/orderlens"

RUN groupadd --system --gid 10001 orderlens \
    && useradd --system --uid 10001 --gid orderlens --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin orderlens

COPY --from=builder /app/.venv /app/.venv
COPY deploy/docker/healthcheck.py /usr/local/lib/orderlens/healthcheck.py

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_PORT=8090

USER 10001:10001
EXPOSE 8090
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/usr/local/lib/orderlens/healthcheck.py", "/healthz"]
# STOPSIGNAL default (SIGTERM). The simulator must listen on all interfaces inside the container.
ENTRYPOINT ["orderlens", "carrier-simulator"]
CMD ["--port", "8090"]
