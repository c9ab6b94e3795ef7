# The official Airflow image plus wirewatch (and the pinned Celery provider: celery 5.7 crashes Airflow 3.3).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 pyproject.toml README.md /opt/wirewatch/
COPY --chown=airflow:0 ingest /opt/wirewatch/ingest
COPY --chown=airflow:0 schemas /opt/wirewatch/schemas
COPY --chown=airflow:0 seeds /opt/wirewatch/seeds
COPY --chown=airflow:0 docker/pools.json /opt/wirewatch/docker/pools.json
COPY --chown=airflow:0 dags /opt/airflow/dags

# Keep Airflow itself at the image's version while installing the package and its `airflow` extra.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" "/opt/wirewatch[airflow]"

ENV WIREWATCH_SCHEMAS=/opt/wirewatch/schemas \
    WIREWATCH_CHANNELS=/opt/wirewatch/seeds/channels.toml
