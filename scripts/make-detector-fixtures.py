"""Reference values of the feature-space detectors (ocsvm, gaussian) from scikit-learn.

Run with /usr/bin/python3 (scikit-learn, numpy):

    /usr/bin/python3 scripts/make-detector-fixtures.py

Writes test/fixtures/detectors/sklearn-ocsvm-gaussian.json: a small training set (200 x 16,
seed 0: two Gaussian clusters; every value rounded to float32, as anogen's images), 40 test points (20 from the same law, 20 shifted and
stretched), and scikit-learn's
- OneClassSVM(kernel='rbf', nu, gamma, tol).decision_function on the test points, with its
  gamma, offset_ (rho) and number of support vectors, for a few settings;
- LedoitWolf().fit: location_, shrinkage_ and mahalanobis() (squared distances) of the test
  points, on all 200 points and on the first 10 (fewer points than features).
test/detectors/ocsvm-gaussian.test.ts checks anogen's detectors against these values.
"""

import json
import os

import numpy as np
import sklearn
from sklearn.covariance import LedoitWolf
from sklearn.svm import OneClassSVM

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "detectors", "sklearn-ocsvm-gaussian.json")


def data():
    rng = np.random.RandomState(0)
    n, p = 200, 16
    centers = rng.randn(2, p) * 1.5
    scales = rng.uniform(0.5, 1.5, size=(1, p))
    which = rng.randint(0, 2, size=n)
    train = centers[which] + rng.randn(n, p) * scales
    which_t = rng.randint(0, 2, size=20)
    test_in = centers[which_t] + rng.randn(20, p) * scales
    test_out = rng.randn(20, p) * 3.0 + 1.0
    test = np.concatenate([test_in, test_out])
    # anogen's images are float32: the reference sees exactly the values the detectors see
    return train.astype(np.float32).astype(np.float64), test.astype(np.float32).astype(np.float64)


def main():
    train, test = data()
    ocsvm = []
    for nu, gamma, tol in [(0.5, "scale", 1e-3), (0.1, "0.05", 1e-3), (0.2, "auto", 1e-3), (0.5, "scale", 1e-7)]:
        g = gamma if gamma in ("scale", "auto") else float(gamma)
        m = OneClassSVM(kernel="rbf", nu=nu, gamma=g, tol=tol).fit(train)
        ocsvm.append(
            {
                "nu": nu,
                "gamma": gamma,
                "tol": tol,
                "fittedGamma": float(m._gamma),
                "rho": float(m.offset_[0]),
                "nSupport": int(m.support_.shape[0]),
                "decision": m.decision_function(test).tolist(),
            }
        )
    gaussian = []
    for n in (200, 10):
        lw = LedoitWolf().fit(train[:n])
        gaussian.append(
            {
                "n": n,
                "location": lw.location_.tolist(),
                "shrinkage": float(lw.shrinkage_),
                "mahalanobis": lw.mahalanobis(test).tolist(),
            }
        )
    out = {
        "note": "made by scripts/make-detector-fixtures.py; do not edit",
        "sklearn": sklearn.__version__,
        "train": train.tolist(),
        "test": test.tolist(),
        "ocsvm": ocsvm,
        "gaussian": gaussian,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
