"""C-simulation worker: runs one compiled fpgaml library (fpgaml_harness.cpp) in a process of its own.

A crash of the native code (segfault, abort, hls4ml's exit(1) on a missing weight file) then ends only
this process; fpgaml reports it with the log that received this process's stderr. Each worker also has
its own copy of the firmware's static state (weights, lookup tables, io_stream buffers), so workers run
in parallel. Standard library only: started as ``python -I _worker.py LIBRARY WEIGHTS_DIR``.

Protocol on stdin/stdout, native byte order:
  start-up reply: n_in, n_out (int32); the input sizes, then the output sizes (int64 each)
  request: n_samples (int64), n_trace (int32); per traced layer: size (int64), name length (int32), name;
           then each input as n_samples x size float64
  reply:   rc (int64, fpgaml_run's result); if rc >= 0 every output, then every trace, as float64
End of input ends the worker.
"""

import ctypes
import os
import signal
import struct
import sys

_DP = ctypes.POINTER(ctypes.c_double)


def _read(stream, n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            raise EOFError
        got += k
    return buf


def _doubles(buf: bytearray):
    return (ctypes.c_double * (len(buf) // 8)).from_buffer(buf) if buf else (ctypes.c_double * 1)()


def _load(path: str, weights_dir: str):
    lib = ctypes.CDLL(path)
    lib.fpgaml_run.restype = ctypes.c_long
    lib.fpgaml_run.argtypes = [
        ctypes.POINTER(_DP),
        ctypes.POINTER(_DP),
        ctypes.c_long,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.POINTER(ctypes.c_long),
        ctypes.POINTER(_DP),
    ]
    lib.fpgaml_input_size.restype = ctypes.c_long
    lib.fpgaml_output_size.restype = ctypes.c_long
    lib.fpgaml_set_weights_dir.argtypes = [ctypes.c_char_p]
    lib.fpgaml_set_weights_dir(os.fsencode(weights_dir))
    return lib


def _pointers(bufs):
    arrays = [_doubles(b) for b in bufs]
    return arrays, (_DP * max(1, len(arrays)))(*[ctypes.cast(a, _DP) for a in arrays])


def _serve(lib, inp, out) -> None:
    ins = [lib.fpgaml_input_size(i) for i in range(lib.fpgaml_n_inputs())]
    outs = [lib.fpgaml_output_size(i) for i in range(lib.fpgaml_n_outputs())]
    out.write(struct.pack('=ii', len(ins), len(outs)) + struct.pack(f'={len(ins) + len(outs)}q', *ins, *outs))
    out.flush()
    while True:
        try:
            n, n_trace = struct.unpack('=qi', _read(inp, 12))
        except EOFError:
            return
        names, sizes = [], []
        for _ in range(n_trace):
            size, length = struct.unpack('=qi', _read(inp, 12))
            sizes.append(size)
            names.append(bytes(_read(inp, length)))
        xs = [_read(inp, 8 * n * s) for s in ins]
        ys = [bytearray(8 * n * s) for s in outs]
        ts = [bytearray(8 * n * s) for s in sizes]
        keep_x, x_ptrs = _pointers(xs)
        keep_y, y_ptrs = _pointers(ys)
        keep_t, t_ptrs = _pointers(ts)
        c_names = (ctypes.c_char_p * max(1, n_trace))(*names)
        c_sizes = (ctypes.c_long * max(1, n_trace))(*sizes)
        rc = lib.fpgaml_run(x_ptrs, y_ptrs, n, n_trace, c_names, c_sizes, t_ptrs)
        out.write(struct.pack('=q', rc))
        if rc >= 0:
            for buf in ys + ts:
                out.write(buf)
        out.flush()
        del keep_x, keep_y, keep_t


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # fpgaml itself handles Ctrl-C and ends its workers
    # the protocol gets its own descriptor; anything the native code prints to stdout goes to the log
    out = os.fdopen(os.dup(1), 'wb')
    os.dup2(2, 1)
    _serve(_load(sys.argv[1], sys.argv[2]), sys.stdin.buffer, out)


if __name__ == '__main__':
    main()
