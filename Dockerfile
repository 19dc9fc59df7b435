# The rca service image: one image, every role chosen by its command (see docker-compose.yml).
FROM python:3.11-slim

# PIP_TORCH_ARGS lets a build choose a CPU-only torch wheel source; by default pip's configured index is used.
ARG PIP_TORCH_ARGS=""
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# the compiled kernels (rca/fast/engine_kernels.py, rca/fast/gnn_attention.py), compiled once here; numba needs it writable
ENV NUMBA_CACHE_DIR=/var/cache/rca/numba

WORKDIR /app
RUN pip install --no-cache-dir ${PIP_TORCH_ARGS} "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY settings ./settings
COPY graph_schema ./graph_schema
COPY ingest ./ingest
COPY rca ./rca
COPY dashboards ./dashboards
COPY protos ./protos
COPY examples ./examples
# the gRPC stubs (rca/v1) are generated here, at build: rca.service.stubs does not generate them on import;
# Ask's intent classifier is trained here too (rca.nlq.intent_model), so no container fits it at run time
RUN pip install --no-cache-dir -e . && python -m rca.service.protogen && python -m rca.nlq.intent_model \
    && python -c "import rca.fast.engine_kernels, rca.fast.gnn_attention" \
    && useradd --create-home --uid 10001 rca \
    && mkdir -p /var/lib/rca/syslog /var/lib/rca/sync && chown -R rca /var/lib/rca /var/cache/rca
USER rca
ENTRYPOINT ["rca"]
CMD ["--help"]
