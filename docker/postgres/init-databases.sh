#!/bin/bash
# First start of the postgres service: Airflow's metadata database beside the warehouse (POSTGRES_DB, owned by
# POSTGRES_USER), so that neither can touch the other's tables. The password comes from AIRFLOW_DB_PASSWORD.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v airflow_password="${AIRFLOW_DB_PASSWORD:-airflow}" <<'EOSQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
EOSQL
