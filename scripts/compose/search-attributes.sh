#!/bin/sh
# One-shot: registers Retrain's search attributes (workflows/definitions.ts SEARCH_ATTRIBUTES, all Keyword), which
# `retrain runs` and the Temporal UI filter on. Attributes already registered are left alone, so this can run on
# every `docker-compose up`.
set -eu
ns=${TEMPORAL_NAMESPACE:-default}
existing=$(temporal operator search-attribute list --namespace "$ns")
for name in RetrainModel RetrainStage RetrainTrigger RetrainDecision; do
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$ns" --name "$name" --type Keyword
  fi
done
