#!/usr/bin/env python3
"""Would static word embeddings (model2vec's potion-base-2M) measurably help the intent model?

A one-off measurement, in Python, before deciding whether to add embeddings to the Rust
intent model (model2vec-rs pulls HF `tokenizers` and ~8 MB of weights). Three
class_weight="balanced" logistic regressions (scikit-learn, lbfgs, random_state=0), all
trained on the catalog examples plus the [[borrowed]] examples:

  A  TF-IDF over lowercased word 1-2-grams + char_wb 3-5-grams (each block L2-normalised)
  B  potion-base-2M sentence embeddings (mean-pooled, normalised; 64 dims) alone
  C  A and B side by side, the embedding block multiplied by a scale chosen on DEV only

Hyperparameters (C of the regression for A and B; for C, A's C and the embedding scale)
are picked on tests/data/faq_dev.tsv only; tests/data/faq_holdout.tsv and the CLINC150
validation rows are only measured, never tuned on.

Decision rules reported:
  - argmax: the most probable intent;
  - thresholded: argmax, but `none` when the top probability is below t, with t chosen on
    DEV only (maximise dev accuracy subject to dev none-answered <= 2%).

Metrics: accuracy; none-answered = share of rows labelled `none` that got another label;
CLINC unrelated answered = share of CLINC150 validation rows whose intent is not one we
borrow or deliberately leave out (see UNRELATED_EXCLUDED) that got a non-`none` label.
Each approach after A is also compared with A row by row (questions only it gets right /
only A gets right, exact McNemar p). Hyperparameters are picked by thresholded dev accuracy
(then argmax dev accuracy); for C, the scale that maximises argmax dev accuracy is reported
too when it differs, since the thresholded figure hangs on two or three dev rows. Also the
median per-question embedding time in Python, for information.

Setup (Python 3.11; nothing is downloaded at run time, the model is read from the local
folder /work/shared/data/potion-base-2M, or $POTION_DIR, with HF_HUB_OFFLINE=1):

    python3.11 -m venv /work/gen/venv
    /work/gen/venv/bin/pip install scikit-learn numpy model2vec tokenizers safetensors
    # measured with scikit-learn 1.9.1, numpy 2.4.6, model2vec 0.10.0, tokenizers 0.23.3

Usage (from the repository root): python3 tools/embeddings_experiment.py
If the running interpreter lacks the dependencies, the script re-executes itself with
/work/gen/venv/bin/python (or $EXPERIMENT_PYTHON). It prints one JSON line per approach
(plus a first line with input hashes and counts, and a last line of timings). Set
EXPERIMENT_ROOT to a folder laid out like the repository (src/faq/catalog.toml,
tests/data/*.tsv) to measure a frozen copy of the data. Takes about 8-10 minutes on 2 cores.
"""
import hashlib
import json
import math
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

VENV_PYTHON = os.environ.get("EXPERIMENT_PYTHON", "/work/gen/venv/bin/python")
try:
    import model2vec
    import numpy as np
    import scipy.sparse as sp
    import sklearn
    from model2vec import StaticModel
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
except ImportError:
    # (compare prefixes, not executables: a venv's python is a symlink to the base one)
    venv_prefix = os.path.dirname(os.path.dirname(os.path.abspath(VENV_PYTHON)))
    if os.path.realpath(sys.prefix) != os.path.realpath(venv_prefix) and os.path.exists(VENV_PYTHON):
        os.execv(VENV_PYTHON, [VENV_PYTHON, *sys.argv])
    raise

import tomllib

# EXPERIMENT_ROOT: read the data from a snapshot laid out like the repository instead.
ROOT = pathlib.Path(os.environ.get("EXPERIMENT_ROOT") or pathlib.Path(__file__).resolve().parent.parent)
CATALOG = ROOT / "src/faq/catalog.toml"
DEV = ROOT / "tests/data/faq_dev.tsv"
HOLDOUT = ROOT / "tests/data/faq_holdout.tsv"
CLINC = ROOT / "tests/data/clinc150_val.tsv"
POTION = pathlib.Path(os.environ.get("POTION_DIR", "/work/shared/data/potion-base-2M"))

UNRELATED_EXCLUDED = {
    "balance", "rewards_balance", "expiration_date", "transfer", "redeem_rewards",
    "greeting", "what_can_i_ask_you", "goodbye", "thank_you", "are_you_a_bot",
    "who_made_you", "what_is_your_name", "how_old_are_you", "where_are_you_from",
    "do_you_have_pets", "what_are_your_hobbies", "who_do_you_work_for",
}
MAX_DEV_NONE_ANSWERED = 0.02
SEED = 0
C_GRID_TFIDF = [10.0, 30.0, 100.0, 300.0, 1000.0]
C_GRID_EMBED = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]
SCALE_GRID = [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0]


def read_tsv(path):
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t", 1)
        rows.append((label.strip(), text.strip()))
    return rows


def load_training():
    catalog = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    rows = []
    for intent in catalog["intent"]:
        rows += [(intent["id"], text) for text in intent["examples"]]
    for borrowed in catalog.get("borrowed", []):
        rows += [(borrowed["intent"], text) for text in borrowed["examples"]]
    return rows


class Tfidf:
    """Word 1-2-grams + char_wb 3-5-grams, lowercased, each block L2-normalised."""

    def __init__(self, texts):
        self.word = TfidfVectorizer(lowercase=True, analyzer="word", ngram_range=(1, 2),
                                    token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)
        self.char = TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(3, 5),
                                    sublinear_tf=True)
        self.word.fit(texts)
        self.char.fit(texts)

    def __call__(self, texts):
        return sp.hstack([self.word.transform(texts), self.char.transform(texts)]).tocsr()


def fit(x, y, c):
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=SEED)
    model.fit(x, y)
    return model


def decide(model, proba, threshold=0.0):
    """argmax, or `none` when the top probability is below threshold."""
    top = proba.argmax(axis=1)
    return np.where(proba[np.arange(len(top)), top] < threshold, "none", model.classes_[top])


def metrics(gold, pred):
    gold = np.asarray(gold)
    none = gold == "none"
    return {
        "accuracy": float((gold == pred).mean()),
        "none_answered": float((pred[none] != "none").mean()) if none.any() else 0.0,
    }


def choose_threshold(model, proba, gold, limit=MAX_DEV_NONE_ANSWERED):
    """Threshold maximising accuracy subject to none-answered <= limit (ties: lowest t)."""
    best = None
    for t in sorted({0.0, *proba.max(axis=1).tolist()}):
        m = metrics(gold, decide(model, proba, t))
        if m["none_answered"] <= limit and (best is None or m["accuracy"] > best[1]["accuracy"]):
            best = (t, m)
    return best[0] if best else 1.01


def dev_scores(model, x, gold):
    """(thresholded dev accuracy, argmax dev accuracy): what the dev-only choices maximise, in order."""
    proba = model.predict_proba(x)
    t = choose_threshold(model, proba, gold)
    return metrics(gold, decide(model, proba, t))["accuracy"], metrics(gold, decide(model, proba))["accuracy"]


def pct(v):
    return round(100 * v, 2)


def mcnemar_p(better, worse):
    """Exact two-sided McNemar (binomial) p-value for the discordant pairs."""
    n, k = better + worse, min(better, worse)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


def evaluate(name, model, x, gold, params, sweep, baseline=None):
    """x: split -> features; gold: split -> labels (None for CLINC). The threshold comes from dev.
    Returns the JSON record and the predictions (to compare a later approach with this one)."""
    proba = {k: model.predict_proba(v) for k, v in x.items()}
    threshold = choose_threshold(model, proba["dev"], gold["dev"])
    out = {"approach": name, **params, "threshold": round(float(threshold), 4)}
    preds = {}
    for rule, t in (("argmax", 0.0), ("thresholded", threshold)):
        for split in ("dev", "holdout"):
            preds[rule, split] = decide(model, proba[split], t)
            m = metrics(gold[split], preds[rule, split])
            out[f"{rule}_{split}_accuracy"] = pct(m["accuracy"])
            out[f"{rule}_{split}_none_answered"] = pct(m["none_answered"])
        out[f"{rule}_clinc_unrelated_answered"] = pct(float((decide(model, proba["clinc"], t) != "none").mean()))
    # Diagnostic only, NOT a deployable figure and never used for any choice: the best held-out
    # accuracy at held-out none-answered <= limit, with a threshold picked on held-out itself, so
    # the approaches can also be compared at the same operating point.
    for limit in (0.02, 0.05, 0.10):
        oracle_t = choose_threshold(model, proba["holdout"], gold["holdout"], limit)
        oracle = metrics(gold["holdout"], decide(model, proba["holdout"], oracle_t))
        out[f"diagnostic_holdout_oracle_accuracy_at_none_answered_le_{round(100 * limit)}pct"] = pct(oracle["accuracy"])
    # Paired comparison with the baseline on the same rows: questions only this approach gets
    # right ("better"), only the baseline gets right ("worse"), exact McNemar p.
    if baseline is not None:
        name_b, preds_b = baseline
        versus = {}
        for (rule, split), pred in preds.items():
            g = np.asarray(gold[split])
            better = int(((pred == g) & (preds_b[rule, split] != g)).sum())
            worse = int(((pred != g) & (preds_b[rule, split] == g)).sum())
            versus[f"{rule}_{split}"] = {"better": better, "worse": worse, "p": round(mcnemar_p(better, worse), 4)}
        out[f"vs_{name_b}"] = versus
    out["dev_sweep"] = sweep
    return out, preds


def main():
    train = load_training()
    dev = read_tsv(DEV)
    holdout = read_tsv(HOLDOUT)
    clinc = [text for intent, text in read_tsv(CLINC) if intent not in UNRELATED_EXCLUDED]
    y = np.array([label for label, _ in train])
    texts = {"train": [t for _, t in train], "dev": [t for _, t in dev],
             "holdout": [t for _, t in holdout], "clinc": clinc}
    gold = {"dev": [l for l, _ in dev], "holdout": [l for l, _ in holdout], "clinc": None}
    inputs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in (CATALOG, DEV, HOLDOUT, CLINC)}
    counts = {"train": len(train), "dev": len(dev), "holdout": len(holdout), "clinc_unrelated": len(clinc),
              "dev_none": gold["dev"].count("none"), "holdout_none": gold["holdout"].count("none")}
    print(json.dumps({"inputs_sha256_12": inputs, "counts": counts,
                      "versions": {m.__name__: m.__version__ for m in (np, sklearn, model2vec)}}), flush=True)

    tfidf = Tfidf(texts["train"])
    static = StaticModel.from_pretrained(str(POTION))
    xa = {k: tfidf(v) for k, v in texts.items()}
    xb = {k: static.encode(v, normalize=True) for k, v in texts.items()}
    measured = ("dev", "holdout", "clinc")

    def sweep(grid, key):
        """Fit one model per (params, features) on dev. Returns the table of dev scores and the
        best entry under each criterion: "threshold_rule" = (thresholded dev accuracy, then argmax
        dev accuracy), the primary one; "argmax" = (argmax, then thresholded). Ties: grid order."""
        results = []
        for value, features in grid:
            model = fit(features["train"], y, value["c"])
            results.append((dev_scores(model, features["dev"], gold["dev"]), value, model, features))
        best = {"threshold_rule": max(results, key=lambda r: r[0]),
                "argmax": max(results, key=lambda r: (r[0][1], r[0][0]))}
        table = {str(v[key]): {"thresholded_dev": pct(s[0]), "argmax_dev": pct(s[1])} for s, v, _, _ in results}
        return best, table

    # A: TF-IDF, C chosen on dev.
    best_a, table_a = sweep([({"c": c}, xa) for c in C_GRID_TFIDF], "c")
    _, params_a, model_a, _ = best_a["threshold_rule"]
    record, preds_a = evaluate("A_tfidf", model_a, {k: xa[k] for k in measured}, gold,
                               {"C": params_a["c"], "argmax_criterion_picks_C": best_a["argmax"][1]["c"]},
                               {"C": table_a})
    print(json.dumps(record), flush=True)
    baseline = ("A", preds_a)

    # B: embeddings alone, C chosen on dev.
    best_b, table_b = sweep([({"c": c}, xb) for c in C_GRID_EMBED], "c")
    _, params_b, model_b, _ = best_b["threshold_rule"]
    record, _ = evaluate("B_potion_base_2M", model_b, {k: xb[k] for k in measured}, gold,
                         {"C": params_b["c"], "argmax_criterion_picks_C": best_b["argmax"][1]["c"]},
                         {"C": table_b}, baseline)
    print(json.dumps(record), flush=True)

    # C: both blocks, A's C kept, the embedding block's scale chosen on dev. The thresholded dev
    # accuracy hangs on the 2-3 most confident wrong `none` rows, so it is a noisy criterion; when
    # the argmax criterion picks another scale, that model is reported too (C_argmax_selected).
    def both(scale):
        return {k: sp.hstack([xa[k], sp.csr_matrix(scale * xb[k])]).tocsr() for k in texts}

    grid_c = [({"c": params_a["c"], "scale": scale}, both(scale)) for scale in SCALE_GRID]
    best_c, table_c = sweep(grid_c, "scale")
    for criterion, name in (("threshold_rule", "C_tfidf_plus_potion"), ("argmax", "C_tfidf_plus_potion_argmax_selected")):
        _, params_c, model_c, xc = best_c[criterion]
        if criterion == "argmax" and params_c == best_c["threshold_rule"][1]:
            continue
        record, _ = evaluate(name, model_c, {k: xc[k] for k in measured}, gold,
                             {"C": params_c["c"], "embedding_scale": params_c["scale"], "selected_by": criterion},
                             {"embedding_scale": table_c}, baseline)
        print(json.dumps(record), flush=True)

    # Timing (information only): one question at a time, on the dev questions.
    def median_us(fn, items, repeat=5):
        samples = []
        for _ in range(repeat):
            for item in items:
                start = time.perf_counter_ns()
                fn(item)
                samples.append(time.perf_counter_ns() - start)
        return round(statistics.median(samples) / 1000, 1)

    tokenizer = static.tokenizer
    table = np.asarray(static.embedding)

    def raw_embed(text):  # tokenize + look up + mean-pool + normalise, no model2vec wrapper
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        v = table[ids].mean(axis=0) if ids else np.zeros(table.shape[1], dtype=table.dtype)
        return v / (np.linalg.norm(v) or 1.0)

    assert all(np.allclose(raw_embed(q), e, atol=1e-5) for q, e in zip(texts["dev"], xb["dev"]))
    print(json.dumps({
        "timing": "median microseconds per question, Python, one question per call",
        "model2vec_encode_us": median_us(lambda q: static.encode([q]), texts["dev"]),
        "tokenize_lookup_mean_us": median_us(raw_embed, texts["dev"]),
        "tfidf_transform_us": median_us(lambda q: tfidf([q]), texts["dev"], repeat=1),
    }), flush=True)


if __name__ == "__main__":
    main()
