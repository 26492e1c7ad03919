# A runnable image: gunicorn with the repository's config, PostgreSQL chosen by UNIONLEDGER_DATABASE_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UNIONLEDGER_BIND=0.0.0.0:8000 UNIONLEDGER_DATA_DIR=/var/lib/unionledger

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY projections ./projections
COPY tenants ./tenants
COPY persistence ./persistence
COPY integrity ./integrity
COPY demo ./demo
COPY service ./service
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home /var/lib/unionledger unionledger \
    && install -d -m 0700 -o unionledger /var/lib/unionledger

USER unionledger
EXPOSE 8000
CMD ["gunicorn", "-c", "service/gunicorn.conf.py", "service.wsgi:app"]
