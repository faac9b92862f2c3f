"""Rebuild every calibration point of fpgaml/estimate/calibration.yml, run the estimator, print errors.

    TF_USE_LEGACY_KERAS=1 python benchmarks/estimator_calibration.py [--json out.json] [--per-layer]

The architectures are defined here in code.  Where the public example-models snapshot is available at
``../shared/corpus`` (relative to the repository root) the jet taggers use its trained weights; otherwise
(and always for models whose weights are not public) deterministic random weights are used.  The output
says which.  Errors are signed % (estimate vs measured); the summary is the median absolute % error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = REPO.parent / "shared" / "corpus"
CALIBRATION = REPO / "fpgaml" / "estimate" / "calibration.yml"
METRICS = ("latency_cycles", "ii_cycles", "dsp", "lut", "ff", "bram_18k")
SUMMARY_METRICS = ("latency_cycles", "dsp", "lut", "ff")


def _keras():
    import tf_keras as keras

    return keras


def convert(model, hls_config: dict, part: str, clock: float, io_type: str):
    import hls4ml
    from hls4ml.converters.keras_v2_to_hls import keras_v2_to_hls

    with tempfile.TemporaryDirectory() as tmp:
        cfg = hls4ml.utils.config.create_config(output_dir=tmp, project_name="myproject", backend="Vivado",
                                                part=part, clock_period=clock, io_type=io_type)
        cfg["KerasModel"] = model
        cfg["HLSConfig"] = hls_config
        return keras_v2_to_hls(cfg)


def _h5_kernels(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    import h5py

    out: dict[str, dict[str, np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                layer = name.split("/")[0]
                kind = "kernel" if "kernel" in name else "bias" if "bias" in name else None
                if kind:
                    out.setdefault(layer, {})[kind] = obj[()]
        f.visititems(visit)
    return {k: (v["kernel"], v["bias"]) for k, v in out.items() if "kernel" in v and "bias" in v}


def build_jet_tagger(point: dict, rng: np.random.Generator):
    keras = _keras()
    L = keras.layers
    names = ["fc1_relu", "fc2_relu", "fc3_relu", "output_softmax"]
    model = keras.Sequential([
        L.Dense(64, input_shape=(16,), name=names[0]), L.Activation("relu", name="relu1"),
        L.Dense(32, name=names[1]), L.Activation("relu", name="relu2"),
        L.Dense(32, name=names[2]), L.Activation("relu", name="relu3"),
        L.Dense(5, name=names[3]), L.Activation("softmax", name="softmax"),
    ])
    h5 = CORPUS / "example-models" / "keras" / "KERAS_3layer_weights.h5"
    origin = "random Glorot-uniform"
    if h5.exists():
        kern = _h5_kernels(h5)
        if all(n in kern for n in names):
            for n in names:
                model.get_layer(n).set_weights(list(kern[n]))
            origin = "corpus KERAS_3layer weights"
    prec = point["model"]["precision"]
    hls = {"Model": {"Precision": prec, "ReuseFactor": point["model"]["reuse_factor"],
                     "Strategy": point["model"]["strategy"]}}
    return model, hls, origin


def build_jet_tagger_qkeras6(point: dict, rng: np.random.Generator):
    keras = _keras()
    L = keras.layers
    names = ["fc1", "fc2", "fc3", "output"]
    model = keras.Sequential([
        L.Dense(64, input_shape=(16,), name="fc1"), L.Activation("relu", name="relu1"),
        L.Dense(32, name="fc2"), L.Activation("relu", name="relu2"),
        L.Dense(32, name="fc3"), L.Activation("relu", name="relu3"),
        L.Dense(5, name="output"), L.Activation("softmax", name="softmax"),
    ])
    h5 = CORPUS / "example-models" / "keras" / "qkeras_3layer_weights.h5"
    origin = "random weights on the 6-bit grid"
    kern = _h5_kernels(h5) if h5.exists() else {}
    if all(n in kern for n in names):
        origin = "corpus qkeras_3layer weights"
    q6 = lambda x: np.clip(np.round(np.asarray(x) * 32), -32, 31) / 32.0  # quantized_bits(6, 0)
    for n in names:
        layer = model.get_layer(n)
        k, b = kern[n] if n in kern else [w for w in layer.get_weights()]
        layer.set_weights([q6(k), q6(b)])
    hls = {"Model": {"Precision": "fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"}, "LayerName": {}}
    for n in names:
        hls["LayerName"][n] = {"Precision": {"weight": "fixed<6,1>", "bias": "fixed<6,1>"}}
    for n in ["relu1", "relu2", "relu3"]:
        hls["LayerName"][n] = {"Precision": {"result": "fixed<7,1,RND_CONV,SAT>"}}
    return model, hls, origin


def _prune(model, fraction: float, skip: tuple[str, ...]):
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws or layer.name in skip or fraction <= 0:
            continue
        k = ws[0]
        thr = np.quantile(np.abs(k), fraction)
        ws[0] = np.where(np.abs(k) < thr, 0.0, k)
        layer.set_weights(ws)


def build_svhn(point: dict, rng: np.random.Generator):
    keras = _keras()
    keras.utils.set_random_seed(1234)
    L = keras.layers
    layers = [L.Input((32, 32, 3), name="input_1")]
    for i, f in enumerate((16, 16, 24)):
        layers += [L.Conv2D(f, 3, name=f"conv_{i}"), L.Activation("relu", name=f"conv_act_{i}"),
                   L.MaxPooling2D(2, name=f"pool_{i}")]
    layers += [L.Flatten(name="flatten"), L.Dense(42, name="dense_0"), L.Activation("relu", name="dense_act_0"),
               L.Dense(64, name="dense_1"), L.Activation("relu", name="dense_act_1"),
               L.Dense(10, name="output_dense"), L.Activation("softmax", name="output_softmax")]
    model = keras.Sequential(layers)
    # folded batch norm gives every output channel a bias
    for layer in model.layers:
        ws = layer.get_weights()
        if len(ws) == 2:
            ws[1] = rng.normal(0, 0.1, size=ws[1].shape)
            layer.set_weights(ws)
    _prune(model, float(point["model"].get("pruned_fraction", 0.5)), skip=("output_dense",))
    hls = {"Model": {"Precision": point["model"]["precision"], "ReuseFactor": 1, "Strategy": "Latency"}}
    return model, hls, "random Glorot-uniform, magnitude-pruned"


def build_dense16x5(point: dict, rng: np.random.Generator):
    keras = _keras()
    keras.utils.set_random_seed(42)
    L = keras.layers
    model = keras.Sequential([L.Dense(5, input_shape=(16,), name="fc1"), L.Activation("relu", name="relu1")])
    hls = {"Model": {"Precision": point["model"]["precision"], "ReuseFactor": 1, "Strategy": "Latency"}}
    return model, hls, "random Glorot-uniform (Keras default init)"


BUILDERS = {
    "jet_tagger": build_jet_tagger,
    "jet_tagger_qkeras6": build_jet_tagger_qkeras6,
    "svhn_cnn": build_svhn,
    "dense16x5": build_dense16x5,
}


def reference(measured: dict) -> dict:
    """csynth for latency / II, post-synthesis for resources (csynth where no synth figure exists)."""
    cs, sy = measured.get("csynth") or {}, measured.get("synth") or {}
    ref = {}
    for m in METRICS:
        if m in ("latency_cycles", "ii_cycles"):
            v = cs.get(m, sy.get(m))
        else:
            v = sy.get(m, cs.get(m))
        if v is not None:
            ref[m] = v
    return ref


def pct(est: float, ref: float) -> float | None:
    if ref == 0:
        return 0.0 if est == 0 else None
    return 100.0 * (est - ref) / ref


def run(per_layer: bool = False) -> dict:
    from fpgaml.estimate import estimate

    points = yaml.safe_load(CALIBRATION.read_text())["points"]
    results = []
    for p in points:
        rng = np.random.default_rng(7)
        model, hls, origin = BUILDERS[p["model"]["architecture"]](p, rng)
        graph = convert(model, hls, p["part"], p["clock_period_ns"], p["model"]["io_type"])
        est = estimate(graph, p["part"], p["clock_period_ns"])
        ref = reference(p["measured"])
        row = {"id": p["id"], "weights": origin, "estimate": est.total.to_json_dict(), "measured": ref,
               "error_pct": {m: pct(getattr(est.total, m), ref[m]) for m in ref}}
        results.append(row)
        if per_layer:
            print(f"\n== {p['id']} per layer (estimate)")
            for l in est.layers:
                print(f"  {l.name:22s} {l.layer_class:18s} lat {l.latency_cycles:6d} ii {l.ii_cycles:6d} dsp {l.dsp:6d}"
                      f" lut {l.lut:7d} ff {l.ff:6d} bram {l.bram_18k:4d}")
            if p["id"] == "svhn_cnn_pruned_16b":
                try:
                    _svhn_per_layer(est)
                except ImportError:
                    pass
    summary = {}
    for m in METRICS:
        errs = [abs(r["error_pct"][m]) for r in results if r["error_pct"].get(m) is not None]
        if errs:
            summary[m] = {"median_abs_pct": statistics.median(errs), "n": len(errs)}
    return {"points": results, "summary": summary}


def _svhn_per_layer(est):
    """Per-layer csynth comparison for the SVHN CNN (DSP and latency are comparable; csynth LUT/FF are not)."""
    rpt = CORPUS / "vendor-reports" / "svhn-pruned-cnn-16bit" / "myproject_csynth.rpt"
    if not rpt.exists():
        print("  (corpus report absent: no per-layer comparison)")
        return
    from fpgaml.synth.reports import parse_csynth_rpt

    r = parse_csynth_rpt(rpt)
    ours = [l for l in est.layers if l.layer_class not in ("Input", "Reshape")]
    kinds = {"Conv2D": "conv_2d", "Dense": "dense", "Pooling2D": "pooling2d", "Activation": "relu",
             "Softmax": "softmax"}
    print("  per-layer vs csynth (matched in order of kind):")
    used = set()
    for l in ours:
        key = kinds.get(l.layer_class)
        cands = [i for i in r.instances if key and i.module.startswith(key) and i.name not in used]
        # csynth instance names carry the config index; match by hls4ml's index order
        cands.sort(key=lambda i: int(''.join(ch for ch in i.name.split('config')[-1] if ch.isdigit()) or 0))
        if not cands:
            continue
        inst = cands[0]
        used.add(inst.name)
        print(f"  {l.name:16s} est lat {l.latency_cycles:5d} dsp {l.dsp:5d} | csynth {inst.name[:40]:40s} lat "
              f"{inst.latency_max:5d} dsp {inst.dsp:5d}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="write the results to this JSON file")
    ap.add_argument("--per-layer", action="store_true", help="print per-layer estimates")
    args = ap.parse_args(argv)
    out = run(per_layer=args.per_layer)
    hdr = f"{'point':24s} {'metric':15s} {'estimate':>10s} {'measured':>10s} {'error %':>9s}"
    print("\n" + hdr + "\n" + "-" * len(hdr))
    for r in out["points"]:
        for m, ref in r["measured"].items():
            e = r["error_pct"][m]
            es = "n/a" if e is None else f"{e:+.1f}"
            print(f"{r['id']:24s} {m:15s} {r['estimate'][m]:>10} {ref:>10} {es:>9s}")
        print(f"{'':24s} weights: {r['weights']}")
    print("\nmedian absolute % error:")
    for m, s in out["summary"].items():
        print(f"  {m:15s} {s['median_abs_pct']:6.1f} %  (n={s['n']})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
