#!/bin/sh
# One-shot: creates the namespace the workers use (docker-compose service temporal-namespace), unless it exists.
set -eu
ns=${TEMPORAL_NAMESPACE:-default}
if temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
  echo "namespace $ns exists"
else
  temporal operator namespace create --namespace "$ns" --retention "${NAMESPACE_RETENTION:-7d}"
fi
