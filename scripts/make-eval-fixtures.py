#!/usr/bin/python3
"""Makes test/fixtures/eval/metrics.json: scores (with ties) and labels, with scikit-learn's
roc_auc_score, average_precision_score, roc_curve and precision_recall_curve on them.
Run: /usr/bin/python3 scripts/make-eval-fixtures.py   (fixed seed; deterministic)."""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import (average_precision_score, precision_recall_curve, roc_auc_score,
                             roc_curve, f1_score)

rng = np.random.default_rng(20261128)
cases = []


def add(name, scores, labels):
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    fpr, tpr, thr = roc_curve(labels, scores)
    fpr_f, tpr_f, _ = roc_curve(labels, scores, drop_intermediate=False)
    prec, rec, pthr = precision_recall_curve(labels, scores)
    thr = thr.tolist()
    thr[0] = None  # sklearn 1.2 writes max+1 here, >= 1.3 writes inf; anogen uses Infinity
    # FPR at 95% TPR: first point of the full ROC whose TPR reaches 0.95
    fpr95 = float(fpr_f[np.searchsorted(tpr_f, 0.95, side="left")])
    # best F1 over thresholds (rule score >= t), as the max over the PR curve
    p, r = prec[:-1], rec[:-1]
    f1 = np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1), 0)
    # F1 at a fixed threshold with the rule score > phi
    phi = float(np.median(scores))
    cases.append({
        "name": name,
        "scores": scores.tolist(),
        "labels": labels.tolist(),
        "roc_auc_score": float(roc_auc_score(labels, scores)),
        "average_precision_score": float(average_precision_score(labels, scores)),
        "roc_curve": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr},
        "precision_recall_curve": {"precision": prec.tolist(), "recall": rec.tolist(), "thresholds": pthr.tolist()},
        "fpr_at_95_tpr": fpr95,
        "best_f1": float(f1.max()),
        "median_threshold": phi,
        "f1_at_median": float(f1_score(labels, (scores > phi).astype(np.int64))),
    })


# 1. continuous scores, anomalies shifted up, with ties made by rounding
n0, n1 = 60, 25
s = np.r_[rng.normal(0, 1, n0), rng.normal(1.2, 1, n1)]
y = np.r_[np.zeros(n0), np.ones(n1)]
perm = rng.permutation(n0 + n1)
add("rounded-gaussians", np.round(s[perm], 1), y[perm])
# 2. heavy ties: integer scores 0..4
s = rng.integers(0, 5, 50).astype(np.float64)
y = (rng.random(50) < 0.2 + 0.15 * s).astype(np.int64)
add("integer-ties", s, y)
# 3. tiny, perfect separation
add("perfect", [0.1, 0.2, 0.3, 0.9, 1.0], [0, 0, 0, 1, 1])
# 4. inverted (AUROC 0) with a tie across classes
add("inverted-tie", [5.0, 4.0, 3.0, 3.0, 1.0, 0.5], [0, 0, 0, 1, 1, 1])
# 5. all scores equal
add("all-equal", [2.0] * 8, [0, 1, 0, 0, 1, 0, 0, 0])
# 6. larger, continuous, imbalanced (many distinct values)
s = np.r_[rng.normal(0, 1, 300), rng.normal(2.0, 1.5, 30)]
y = np.r_[np.zeros(300), np.ones(30)]
perm = rng.permutation(330)
add("imbalanced", s[perm], y[perm])

# numpy percentiles (linear interpolation) for the percentile threshold
pvals = np.round(rng.normal(0, 1, 37), 2)
qs = [0, 1, 5, 25, 50, 90, 95, 99, 100]
percentiles = {"values": pvals.tolist(), "q": qs, "expected": [float(np.percentile(pvals, q)) for q in qs]}

out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "eval", "metrics.json")
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, "w") as f:
    json.dump({"sklearn": sklearn.__version__, "seed": 20261128, "cases": cases, "percentile": percentiles}, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(out), len(cases), "cases")

# floors: PCA reconstruction error and kNN distances, by sklearn
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors


def pca_err(train, test, n_components):
    p = PCA(n_components=n_components, svd_solver="full").fit(train)
    rec = p.inverse_transform(p.transform(test))
    return int(p.n_components_), ((test - rec) ** 2).sum(1).tolist()


floors = {}
basis = rng.normal(0, 1, (4, 12))
train = rng.normal(0, 1, (40, 4)) @ basis + 0.1 * rng.normal(0, 1, (40, 12))
test = np.r_[rng.normal(0, 1, (10, 4)) @ basis + 0.1 * rng.normal(0, 1, (10, 12)), rng.normal(0, 2, (5, 12))]
floors["train"] = train.tolist()
floors["test"] = test.tolist()
floors["pca_k3"] = pca_err(train, test, 3)
floors["pca_var90"] = pca_err(train, test, 0.9)
# wide data (D > N): the Gram-matrix path
wide_train = rng.normal(0, 1, (8, 30)) + np.linspace(0, 1, 30)
wide_test = rng.normal(0, 1, (6, 30))
floors["wide_train"] = wide_train.tolist()
floors["wide_test"] = wide_test.tolist()
floors["wide_pca_k4"] = pca_err(wide_train, wide_test, 4)
dist, _ = NearestNeighbors(n_neighbors=5).fit(train).kneighbors(test)
floors["knn5_mean"] = dist.mean(1).tolist()
floors["knn5_kth"] = dist[:, 4].tolist()
out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "eval", "floors.json")
with open(out, "w") as f:
    json.dump(floors, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(out))
