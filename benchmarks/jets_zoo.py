"""The jet model zoo's table, from each models/jet_*/metrics.json (written by the models' train.py).

.venv/bin/python benchmarks/jets_zoo.py
"""

import json
from pathlib import Path

MODELS = Path(__file__).resolve().parents[1] / 'models'


def fmt(v, pct=True):
    if v is None:
        return '-'
    return f'{100 * v:.1f}%' if pct else str(v)


def main():
    print(
        '| model | parameters | sparsity | precision | float acc | quantized acc | C-sim acc (sample) | '
        'bit-exact | compile s | C-sim us/sample |'
    )
    print('|---|---|---|---|---|---|---|---|---|---|')
    for p in sorted(MODELS.glob('jet_*/metrics.json')):
        m = json.loads(p.read_text())
        acc = m.get('csim_accuracy') or {}
        exact = m.get('csim_exact_fraction')
        exact = (
            fmt(exact)
            if exact is not None
            else f'tolerance ({"pass" if m.get("csim_passed") else "FAIL"}, '
            f'argmax {fmt(m.get("csim_argmax_agreement"))})'
        )
        print(
            f'| {p.parent.name} | {m.get("parameters")} | {fmt(m.get("sparsity"))} | {m.get("precision", "")[:60]} | '
            f'{fmt(m.get("float_accuracy"))} | {fmt(m.get("quantized_keras_accuracy"))} | '
            f'{fmt(acc.get("firmware"))} (Keras {fmt(acc.get("keras"))}, n={m.get("csim_samples")}) | {exact} | '
            f'{m.get("compile_seconds")} | {m.get("csim_us_per_sample")} |'
        )


if __name__ == '__main__':
    main()
