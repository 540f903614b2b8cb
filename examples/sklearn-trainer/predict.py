#!/usr/bin/env python3
"""Retrain `command` trainer example: scores rows with the model train.py wrote.

Called as: predict.py {model} {data} {scores}
  model   the file train.py wrote
  data    CSV of the rows to score (header and feature columns)
  scores  where to write one probability of the positive class per row, one per line
"""
import pickle
import sys

import pandas as pd

model_path, data_path, scores_path = sys.argv[1:4]
saved = pickle.load(open(model_path, "rb"))
frame = pd.read_csv(data_path)
p = saved["model"].predict_proba(frame[saved["columns"]])[:, 1]
with open(scores_path, "w") as out:
    out.write("\n".join(f"{v:.10g}" for v in p) + "\n")
