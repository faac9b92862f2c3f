"""Reading the text of vendor reports: numbers as the tools print them ('1,234', '~5', '-'), times with
units, and the ASCII tables (``+---+`` / ``| a | b |``) and section titles of their ``.rpt`` files. The
parsers of :mod:`fpgaml.synth.reports` are written on these."""

from __future__ import annotations

import re

__all__ = ['number', 'integer', 'to_ns', 'cells', 'tables', 'section']


def number(text: str | None):
    """Parse '1,234' / '4.049' / '-' / '?' / 'NA' into int, float or None."""
    if text is None:
        return None
    t = text.strip().replace(',', '')
    if t in ('', '-', '?', 'NA', 'N/A', 'undef'):
        return None
    m = re.match(r'^[~<>]?\s*(-?\d+(?:\.\d+)?)', t)
    if not m:
        return None
    v = m.group(1)
    return float(v) if '.' in v else int(v)


def integer(text):
    v = number(text)
    return None if v is None else int(round(v))


def to_ns(text: str | None) -> float | None:
    """'50.000 ns' / '5.220 us' / '1.2 ms' -> ns."""
    if text is None:
        return None
    m = re.match(r'\s*(-?\d+(?:\.\d+)?)\s*(ns|us|ms|s)?', text.strip())
    if not m:
        return None
    return float(m.group(1)) * {'ns': 1.0, 'us': 1e3, 'ms': 1e6, 's': 1e9, None: 1.0}[m.group(2)]


def cells(line: str) -> list[str]:
    s = line.strip()
    if not s.startswith('|'):
        return []
    return [c.strip() for c in s.strip('|').split('|')]


def tables(lines: list[str], start: int, stop: int | None = None):
    """Yield (header_rows, data_rows, end_index) for each ASCII table in lines[start:stop]."""
    i, n = start, len(lines) if stop is None else stop
    while i < n:
        if lines[i].strip().startswith('+-'):
            j = i
            rows: list[list[str]] = []
            seps: list[int] = []
            while j < n and lines[j].strip() and lines[j].strip()[0] in '+|':
                if lines[j].strip().startswith('|'):
                    rows.append(cells(lines[j]))
                else:
                    seps.append(len(rows))
                j += 1
            # header = rows before the second separator, data = the rest
            h = seps[1] if len(seps) > 1 else 0
            yield rows[:h], rows[h:], j
            i = j
        else:
            i += 1


def section(lines: list[str], title: str) -> int | None:
    for i, l in enumerate(lines):
        if title in l:
            return i
    return None
