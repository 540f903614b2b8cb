#!/bin/sh
# One-shot schema setup for Temporal on PostgreSQL (docker-compose service temporal-schema, temporalio/admin-tools).
# Safe to run on every `docker-compose up`: `create` and `setup-schema` only succeed on a fresh database and are
# allowed to fail when it is already set up; `update-schema` then brings either case to the image's schema version
# and fails loudly on any real problem (bad credentials, unreachable database).
set -eu

sql() {
  db=$1
  shift
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --db "$db" "$@"
}

for db in temporal temporal_visibility; do
  case $db in
    temporal) versioned=/etc/temporal/schema/postgresql/v12/temporal/versioned ;;
    *) versioned=/etc/temporal/schema/postgresql/v12/visibility/versioned ;;
  esac
  sql "$db" create || echo "database $db exists"
  sql "$db" setup-schema -v 0.0 || echo "schema of $db exists"
  sql "$db" update-schema -d "$versioned"
done
echo "PostgreSQL schemas are current"
