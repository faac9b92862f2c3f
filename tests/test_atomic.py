"""fpgaml.atomic: concurrent writers of one file never leave a partial file or a stray temporary file."""

import json
import multiprocessing
import os
import threading

import numpy as np
import pytest

from fpgaml.atomic import open_atomic, write_bytes, write_json, write_text

WRITERS, ROUNDS = 4, 40


def _payload(writer: int) -> str:
    return json.dumps({'writer': writer, 'data': 'x' * (200_000 + writer)})  # large enough to take several writes


def _write_many(path: str, writer: int, errors: list | None = None) -> None:
    try:
        for _ in range(ROUNDS):
            write_text(path, _payload(writer))
    except Exception as e:  # (a thread's exception is not the test's)
        if errors is None:
            raise
        errors.append(e)


def _read_while_written(path, stop: threading.Event, seen: list) -> None:
    while not stop.is_set():
        try:
            seen.append(json.loads(path.read_text())['writer'])
        except FileNotFoundError:
            pass
        except ValueError:
            seen.append('partial')


def _check(path, tmp_path, seen) -> None:
    assert json.loads(path.read_text())['writer'] in range(WRITERS)
    assert set(seen) <= set(range(WRITERS))
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def test_concurrent_threads_never_leave_a_partial_file(tmp_path):
    path = tmp_path / 'golden.json'
    stop, seen, errors = threading.Event(), [], []
    reader = threading.Thread(target=_read_while_written, args=(path, stop, seen))
    reader.start()
    writers = [threading.Thread(target=_write_many, args=(str(path), w, errors)) for w in range(WRITERS)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    assert not errors, errors
    _check(path, tmp_path, seen)
    assert seen, 'the reader never saw the file'


def test_concurrent_processes_never_leave_a_partial_file(tmp_path):
    path = tmp_path / 'golden.json'
    stop, seen = threading.Event(), []
    reader = threading.Thread(target=_read_while_written, args=(path, stop, seen))
    reader.start()
    ctx = multiprocessing.get_context('spawn')
    procs = [ctx.Process(target=_write_many, args=(str(path), w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    stop.set()
    reader.join()
    assert all(p.exitcode == 0 for p in procs)
    _check(path, tmp_path, seen)


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary_file(tmp_path):
    path = tmp_path / 'report.json'
    write_json(path, {'a': 1}, indent=1)
    with pytest.raises(RuntimeError):
        with open_atomic(path) as f:
            f.write('{"a": ')
            raise RuntimeError('killed mid-write')
    assert json.loads(path.read_text()) == {'a': 1} and path.read_text().endswith('\n')
    assert [p.name for p in tmp_path.iterdir()] == ['report.json']


def test_files_get_the_permissions_of_an_ordinary_write(tmp_path):
    mask = os.umask(0o027)
    try:
        write_bytes(tmp_path / 'a.bin', b'\x00\x01')
        (tmp_path / 'b.bin').write_bytes(b'\x00\x01')
    finally:
        os.umask(mask)
    assert (tmp_path / 'a.bin').stat().st_mode & 0o777 == (tmp_path / 'b.bin').stat().st_mode & 0o777 == 0o640
    assert write_text(tmp_path / 'r.html', 'é', encoding='utf-8', mode=0o644).stat().st_mode & 0o777 == 0o644


def test_a_writer_that_needs_a_file_object(tmp_path):
    path = tmp_path / 'jets.npz'
    with open_atomic(path, binary=True) as f:
        np.savez_compressed(f, x=np.arange(3))
    assert np.load(path)['x'].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ['jets.npz']
