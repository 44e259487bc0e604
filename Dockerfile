# The Signpost worker image (docker-compose.yml builds it for the worker and the demo traffic source).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY lexicon ./lexicon
RUN pip install --no-cache-dir .
ENV SIGNPOST_LEXICON_DIR=/app/lexicon
# The web server (/metrics, /healthz, /readyz only) listens beyond the container's loopback for its scrapers.
ENV SIGNPOST_WEB_HOST=0.0.0.0
EXPOSE 6066
CMD ["signpost", "worker", "-l", "warn"]
