"""Integer arrays (event and post vectors, centroids) read and written as numpy arrays."""

from __future__ import annotations

import struct

import numpy as np
import psycopg
from psycopg import pq
from psycopg.adapt import Dumper, Loader
from psycopg.rows import args_row

# Integer arrays travel as numpy arrays in PostgreSQL's binary array format, both ways: psycopg's list adapters
# are pure Python, and formatting/parsing text arrays was the largest cost of writing and loading groups.
_ARRAY_TYPES = {
    "int2[]": (21, ">i2", np.int64),
    "int4[]": (23, ">i4", np.int32),
    "int8[]": (20, ">i8", np.int64),
}
_ARRAY_OIDS = {"int2[]": 1005, "int4[]": 1007, "int8[]": 1016}


def _array_dumper(name: str) -> type[Dumper]:
    elem_oid, be, _ = _ARRAY_TYPES[name]
    item = np.dtype([("len", ">i4"), ("v", be)])
    size = np.dtype(be).itemsize

    class _NumpyArrayDumper(Dumper):
        format = pq.Format.BINARY
        oid = _ARRAY_OIDS[name]

        def dump(self, obj) -> bytes:
            a = np.asarray(obj)
            n = len(a)
            if not n:
                return struct.pack(">iiI", 0, 0, elem_oid)
            buf = np.empty(n, dtype=item)
            buf["len"] = size
            buf["v"] = a
            return struct.pack(">iiIii", 1, 0, elem_oid, n, 1) + buf.tobytes()

    return _NumpyArrayDumper


def _array_loader(name: str) -> type[Loader]:
    _, be, out = _ARRAY_TYPES[name]
    item = np.dtype([("len", ">i4"), ("v", be)])

    class _NumpyArrayLoader(Loader):
        format = pq.Format.BINARY

        def load(self, data) -> np.ndarray:
            ndim, _flags, _oid = struct.unpack_from(">iiI", data)
            if ndim == 0:
                return np.zeros(0, dtype=out)
            n, _lb = struct.unpack_from(">ii", data, 12)
            return np.frombuffer(data, dtype=item, count=n, offset=20)["v"].astype(out)

    return _NumpyArrayLoader


_DUMPERS = {name: _array_dumper(name) for name in _ARRAY_TYPES}
_LOADERS = {name: _array_loader(name) for name in _ARRAY_TYPES}


def numpy_cursor(conn: psycopg.Connection, record: type | None = None) -> psycopg.Cursor:
    """A binary cursor that reads integer arrays as numpy arrays and, in COPY with `set_types`, writes them;
    rows come as `record` when given."""
    cur = conn.cursor(binary=True, row_factory=args_row(record)) if record else conn.cursor(binary=True)
    for name in _ARRAY_TYPES:
        cur.adapters.register_dumper(None, _DUMPERS[name])
        cur.adapters.register_loader(_ARRAY_OIDS[name], _LOADERS[name])
    return cur
