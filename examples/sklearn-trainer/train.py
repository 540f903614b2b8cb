#!/usr/bin/env python3
"""Retrain `command` trainer example: trains a scikit-learn model on the files Retrain hands over.

Called as: train.py {data} {weights} {schema} {params} {model}
  data    CSV of the training set (features and the label column)
  weights one sample weight per data row (recency weighting)
  schema  JSON: {"features": [{"name", "type"}], "label", "positive", "negative"?}
  params  JSON: the config's trainer.params
  model   where to write the model (any format: Retrain stores the bytes)
A non-zero exit code fails the run's train stage with this program's stderr.
"""
import json
import pickle
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

data_path, weights_path, schema_path, params_path, model_path = sys.argv[1:6]
schema = json.load(open(schema_path))
params = json.load(open(params_path))
frame = pd.read_csv(data_path)
weights = np.loadtxt(weights_path, ndmin=1)

numeric = [f["name"] for f in schema["features"] if f["type"] == "numeric"]
categorical = [f["name"] for f in schema["features"] if f["type"] == "categorical"]
y = (frame[schema["label"]].astype(str) == schema["positive"]).astype(int)
if y.nunique() < 2:
    sys.exit(f"train.py: the training set holds one class only ({y.iloc[0]})")

model = Pipeline([
    ("encode", ColumnTransformer(
        [("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), categorical)],
        remainder="passthrough")),
    ("boost", HistGradientBoostingClassifier(
        max_iter=params.get("max_iter", 200), learning_rate=params.get("learning_rate", 0.1),
        categorical_features=list(range(len(categorical))) or None, random_state=0)),
])
model.fit(frame[categorical + numeric], y, boost__sample_weight=weights)
with open(model_path, "wb") as out:
    pickle.dump({"model": model, "columns": categorical + numeric}, out)
