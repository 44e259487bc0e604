# The Signpost worker image (docker-compose.yml builds it for the worker and the demo traffic source).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY lexicon ./lexicon
RUN pip install --no-cache-dir .
ENV SIGNPOST_LEXICON_DIR=/app/lexicon
EXPOSE 6066
CMD ["signpost", "worker", "-l", "warn"]
