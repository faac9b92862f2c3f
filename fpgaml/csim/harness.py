"""Front of the compiled C-simulation library (fpgaml_harness.cpp).

The library runs in worker processes (``_worker.py``), never inside fpgaml: a crash of the native code
(a segfault, an abort, hls4ml's exit(1) on a missing weight file) becomes a one-line error that names
the log holding the library's stderr, instead of killing fpgaml silently. Batches run inside C++ (one
call for many samples); to use several cores, each of ``threads`` workers is a process with its own
static firmware state (weights, lookup tables, io_stream line buffers). The weights folder is passed at
start-up, so a library runs wherever its cache entry now lies.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import tempfile
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fpgaml.errors import CompileError
from fpgaml.progress import progress_bar

_WORKER = Path(__file__).with_name('_worker.py')


class CsimCrash(CompileError):
    """The compiled C-simulation library crashed or exited while running (the firmware C++ is unusable)."""


def _last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors='replace').splitlines() if ln.strip()]
    except OSError:
        return ''
    return lines[-1][:300] if lines else ''


def _how_it_ended(code: int | None) -> str:
    if code is None:
        return 'stopped answering'
    if code < 0:
        try:
            return f'crashed ({signal.Signals(-code).name})'
        except ValueError:
            return f'crashed (signal {-code})'
    return f'exited with status {code}'


class _Worker:
    """One process running the library."""

    def __init__(self, path: Path, weights_dir: Path, log: Path):
        self.path, self.log = path, log
        with open(log, 'ab') as err:
            # own session: a Ctrl-C reaches fpgaml only, which then ends its workers
            self.proc = subprocess.Popen(
                [sys.executable, '-I', str(_WORKER), str(path), str(weights_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        self.in_sizes: list[int] = []
        self.out_sizes: list[int] = []

    def handshake(self) -> None:
        """Wait until the library is loaded; learn its input and output sizes."""
        head = self._read(8, 'loading it')
        n_in, n_out = struct.unpack('=ii', head)
        sizes = struct.unpack(f'={n_in + n_out}q', self._read(8 * (n_in + n_out), 'loading it'))
        self.in_sizes, self.out_sizes = list(sizes[:n_in]), list(sizes[n_in:])

    def _crash(self, doing: str) -> CsimCrash:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        self.stop()
        last = _last_line(self.log)
        said = f'; it said: "{last}"' if last else ''
        return CsimCrash(
            f'the C-simulation library {self.path} {_how_it_ended(code)} while {doing}{said}; '
            f'its native stderr is in {self.log}'
        )

    def _read(self, n: int, doing: str) -> bytes:
        data = self.proc.stdout.read(n)
        if data is None or len(data) != n:
            raise self._crash(doing)
        return data

    def run(self, xs: list[np.ndarray], trace: dict[str, int], doing: str):
        n = xs[0].shape[0]
        request = [struct.pack('=qi', n, len(trace))]
        for name, size in trace.items():
            request.append(struct.pack('=qi', size, len(name.encode())) + name.encode())
        try:
            self.proc.stdin.write(b''.join(request))
            for x in xs:
                self.proc.stdin.write(memoryview(x).cast('B'))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise self._crash(doing) from None
        (rc,) = struct.unpack('=q', self._read(8, doing))
        if rc < 0:
            return rc, [], []
        ys = [np.frombuffer(self._read(8 * n * s, doing), dtype=np.float64).reshape(n, s) for s in self.out_sizes]
        ts = [np.frombuffer(self._read(8 * n * s, doing), dtype=np.float64).reshape(n, s) for s in trace.values()]
        return rc, ys, ts

    def stop(self) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen) -> None:
    """End a worker: end of input first (it exits by itself), then a kill."""
    if proc.poll() is None:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for f in (proc.stdin, proc.stdout):
        try:
            f.close()
        except OSError:
            pass


def _shutdown(workers: list[_Worker], log: Path) -> None:
    for w in workers:
        w.stop()
    try:
        if log.stat().st_size == 0:
            log.unlink()
    except OSError:
        pass


class CsimLibrary:
    """One compiled firmware: ``predict`` a batch (on ``threads`` cores), or ``trace`` layers per sample.

    ``weights_dir`` defaults to the ``weights`` folder beside the library (the layout of a cache entry);
    ``log`` (default: a new file in the temporary folder) receives the library's stderr: it is kept
    when the library wrote anything (see ``native_output``), removed otherwise."""

    def __init__(self, path: Path, threads: int = 1, weights_dir: Path | None = None, log: Path | None = None):
        self.path = Path(path).resolve()
        self.weights_dir = Path(weights_dir).resolve() if weights_dir else self.path.parent / 'weights'
        if log is None:
            fd, name = tempfile.mkstemp(prefix='fpgaml-csim-', suffix='.log')
            os.close(fd)
            log = Path(name)
        self.log = Path(log)
        self.threads = max(1, int(threads))
        self._workers: list[_Worker] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._workers, self.log)
        for _ in range(self.threads):  # all started here (in parallel), so that predict() times only the C-sim
            self._workers.append(_Worker(self.path, self.weights_dir, self.log))
        for w in self._workers:
            w.handshake()
        self.in_sizes, self.out_sizes = self._workers[0].in_sizes, self._workers[0].out_sizes

    def close(self) -> None:
        """End the worker processes (also done when the object is collected or fpgaml exits)."""
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def native_output(self) -> str:
        """What the library wrote to stderr so far (hls4ml prints weight-file problems there)."""
        try:
            return self.log.read_text(errors='replace')
        except OSError:
            return ''

    def _run(
        self, xs: list[np.ndarray], trace: dict[str, int] | None = None, worker: _Worker | None = None, first: int = 0
    ):
        worker = worker or self._workers[0]
        n = xs[0].shape[0]
        xs = [np.ascontiguousarray(x.reshape(n, -1), dtype=np.float64) for x in xs]
        for x, size in zip(xs, self.in_sizes):
            if x.shape[1] != size:
                raise ValueError(f'input has {x.shape[1]} values per sample, firmware expects {size}')
        names = dict(trace or {})
        rc, ys, touts = worker.run(xs, names, f'running samples {first}..{first + n - 1}')
        if rc < 0:
            raise RuntimeError(f'layer "{list(names)[-rc - 1]}" produced no trace output')
        return ys, dict(zip(names, touts))

    def predict(self, xs: list[np.ndarray], chunk: int = 512, label: str = 'C-simulation') -> list[np.ndarray]:
        n = xs[0].shape[0]
        workers = self._workers if n > 1 else self._workers[:1]
        chunk = max(1, min(chunk, -(-n // len(workers))))  # every worker gets a share
        starts = list(range(0, n, chunk))
        # contiguous ranges per worker: each process sees its samples in order, as in a serial run
        per = [starts[k :: len(workers)] for k in range(len(workers))]
        results: dict[int, list[np.ndarray]] = {}
        with progress_bar(label, n) as advance:

            def work(k):
                for s in per[k]:
                    results[s], _ = self._run([x[s : s + chunk] for x in xs], worker=workers[k], first=s)
                    advance(min(chunk, n - s))

            if len(workers) == 1:
                work(0)
            else:
                pool = ThreadPoolExecutor(len(workers))
                try:
                    for f in [pool.submit(work, k) for k in range(len(workers))]:
                        f.result()
                except BaseException:  # Ctrl-C or a crashed worker: end them all, do not wait for their batches
                    for w in workers:
                        w.stop()
                    raise
                finally:
                    pool.shutdown(wait=True)
        return [np.concatenate([results[s][k] for s in starts]) for k in range(len(self.out_sizes))]

    def trace(self, xs: list[np.ndarray], layers: dict[str, int]) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        return self._run(xs, layers)
