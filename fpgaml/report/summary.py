"""A finished project's result in one flat dict: the estimate's totals and utilisation, the C-simulation's
verdict and agreement, the budgets, and the RTL and vendor-synthesis figures when they ran.

A sweep point's row (:mod:`fpgaml.sweep`) and a zoo model's line (``fpgaml zoo build --all``) are this dict, so
every place that shows a project's result reads the same keys.
"""

from __future__ import annotations

from dataclasses import asdict

__all__ = ['project_summary']


def project_summary(project) -> dict:
    """The figures of a finished project as plain values (JSON, a CSV row, a Dask result)."""
    est, c = project.estimate_result, project.csim
    t, u = est.total, est.utilization
    fig = {
        'latency_cycles': t.latency_cycles,
        'latency_ns': round(t.latency_ns, 3),
        'ii_cycles': t.ii_cycles,
        'lut': t.lut,
        'ff': t.ff,
        'dsp': t.dsp,
        'bram_18k': t.bram_18k,
        'uram': t.uram,
        'lut_pct': round(u.get('lut', 0.0), 4),
        'dsp_pct': round(u.get('dsp', 0.0), 4),
        'ff_pct': round(u.get('ff', 0.0), 4),
        'bram_pct': round(u.get('bram_18k', u.get('bram', 0.0)), 4),
        'csim_passed': c.passed,
        'csim_mode': c.mode,
        'samples': c.samples,
        'bit_exact_fraction': c.exact_fraction,
        'max_abs_diff': c.max_abs_diff,
        'argmax_agreement': c.argmax_agreement,
        'accuracy_keras': (c.accuracy or {}).get('keras'),
        'accuracy_firmware': (c.accuracy or {}).get('firmware'),
        'compile_seconds': round(c.compile_seconds, 2),
        'compile_cached': c.compile_cached,
        'budgets_passed': all(b.passed for b in project.budgets) if project.budgets else None,
        'budgets': [b.message for b in project.budgets if not b.passed],
    }
    r = project.rtl_result
    if r is not None:
        fig.update(
            rtl_mismatching_bits=r.mismatching_bits,
            rtl_samples=r.samples,
            rtl_latency_cycles=r.latency_cycles,
            rtl_latency_ns=r.latency_ns,
            rtl_ii_cycles=r.ii_cycles,
        )
        tot = (r.synthesis or {}).get('total') or {}
        for k in ('LUT', 'FF', 'DSP', 'CARRY'):
            if k in tot:
                fig[f'rtl_{k.lower()}'] = tot[k]
    s = project.synthesis
    if s is not None:
        fig['synth'] = s.tool or 'tool not found'
        fig['synth_message'] = s.message
        if s.result is not None:
            fig['synth_reports'] = asdict(s.result)
    return fig
