"""Fuzzing the `.npy` header and `.npz` readers: a valid parse or an `InputFileError`, nothing else.

Bounded for CI: fixed example counts, no deadline, no example database
(nothing is written into the repository).
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import Member, npy_header, write_zip

from keras_deprocess.datasets.npy import InputFileError, check_array, read_npy_header
from keras_deprocess.datasets.numpy_files import NumpyFile as ArrayFile
from keras_deprocess.datasets.sampling import sample
from keras_deprocess.errors import DeprocessError

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

DESCRS = [
    "<f4",
    ">f8",
    "<f2",
    "|u1",
    "<i8",
    "<f16",
    "<c8",
    "|O",
    "|b1",
    "<U3",
    "|V4",
    "(2,)<f4",
    "<M8[s]",
    "f4",
    "z9",
]
# The generators build what NumPy writes and break at most one thing in it, so
# that the checks after the first ones run too.
good_shape = st.lists(st.integers(1, 6), min_size=3, max_size=4).map(tuple)
dimension = st.one_of(
    st.integers(-3, 9), st.integers(0, 1 << 70), st.booleans(), st.floats(allow_nan=True), st.text(max_size=3)
)
bad_shape = st.one_of(
    st.lists(dimension, max_size=6).map(tuple), st.lists(dimension, max_size=3), st.integers(), st.none()
)
descr = st.one_of(
    st.sampled_from(DESCRS),
    st.text(max_size=12),
    st.lists(st.tuples(st.text(max_size=3), st.sampled_from(DESCRS)), max_size=2),
    st.integers(),
)
fortran = st.one_of(st.integers(0, 2), st.none(), st.text(max_size=2))


BREAKABLE = ("magic", "version", "length", "truncate", "descr", "shape", "fortran", "keys", "text")


@st.composite
def npy_headers(draw: st.DrawFn) -> bytes:
    """A .npy header as NumPy writes it, with at most one part broken (none about a third of the time)."""
    choice = draw(st.integers(0, len(BREAKABLE) + 4))
    broken = BREAKABLE[choice] if choice < len(BREAKABLE) else None
    fields = {
        "descr": draw(descr if broken == "descr" else st.sampled_from(["<f4", ">f8", "<f2"])),
        "fortran_order": draw(fortran if broken == "fortran" else st.booleans()),
        "shape": draw(bad_shape if broken == "shape" else good_shape),
    }
    if broken == "keys":
        if draw(st.booleans()):
            fields.pop(draw(st.sampled_from(sorted(fields))))
        else:
            fields[draw(st.text(max_size=5))] = draw(st.integers())
    text = repr(fields)
    if broken == "text":
        text = draw(
            st.one_of(
                st.integers(0, len(text)).map(lambda n: text[:n]),
                st.integers(0, 400).map(lambda n: "(" * n + text),
                st.text(max_size=60),
            )
        )
    text += " " * draw(st.integers(0, 20)) + "\n"
    magic = draw(st.sampled_from([b"\x93NUMPX", b"", b"PK\x03\x04"])) if broken == "magic" else b"\x93NUMPY"
    version = (
        draw(st.sampled_from([(0, 0), (4, 1), (1, 1)]))
        if broken == "version"
        else draw(st.sampled_from([(1, 0), (2, 0), (3, 0)]))
    )
    raw = text.encode("utf-8" if version == (3, 0) else "latin1", "replace")
    size = 2 if version == (1, 0) else 4
    length = draw(st.integers(0, (1 << (8 * size)) - 1)) if broken == "length" else len(raw)
    blob = magic + bytes(version) + length.to_bytes(size, "little") + raw
    return blob[: draw(st.integers(0, len(blob)))] if broken == "truncate" else blob


def _parse(blob: bytes) -> None:
    try:
        header = read_npy_header(io.BytesIO(blob).read)
        check_array(header)
    except InputFileError:
        pass


@settings(FUZZ, max_examples=1000)
@given(st.one_of(npy_headers(), npy_headers(), st.binary(max_size=200)))
def test_npy_headers_parse_or_raise_an_input_error(blob):
    _parse(blob)


def test_the_fuzzed_header_reader_accepts_what_numpy_writes():
    for array in (np.zeros((2, 3, 4, 3), ">f8"), np.asfortranarray(np.ones((5, 6, 3), "<f2"))):
        buffer = io.BytesIO()
        np.save(buffer, array)
        header = read_npy_header(io.BytesIO(buffer.getvalue()).read)
        assert (header.shape, header.dtype, header.fortran_order) == (
            array.shape,
            array.dtype,
            np.isfortran(array),
        )
        assert buffer.getvalue()[header.length :] == array.tobytes(order="A")


VALID_ARRAYS = st.builds(
    lambda batch, image, dtype, order: np.zeros(tuple(batch) + tuple(image), dtype, order=order),
    st.lists(st.integers(0, 5), max_size=1),
    st.lists(st.integers(1, 6), min_size=3, max_size=3),
    st.sampled_from(["<f4", ">f8", "<f2"]),
    st.sampled_from(["C", "F"]),
)
ARCHIVE_BREAKS = ("name", "data", "header", "huge", "method", "flags", "zeros", "damage", "cut")


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    """An npz as numpy.savez writes it, with at most one thing broken (none about a third of the time)."""
    names = draw(st.lists(st.text(max_size=12), max_size=4))
    table = []
    for name in names:
        buffer = io.BytesIO()
        np.save(buffer, draw(VALID_ARRAYS))
        method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
        table.append(Member(name + ".npy", buffer.getvalue(), method=method))
    choice = draw(st.integers(0, len(ARCHIVE_BREAKS) + 4))
    broken = ARCHIVE_BREAKS[choice] if choice < len(ARCHIVE_BREAKS) else None
    if table and broken in ("name", "data", "header", "huge", "method", "flags", "zeros"):
        i = draw(st.integers(0, len(table) - 1))
        member = table[i]
        if broken == "name":
            member = member._replace(
                name=member.name[:-4] + draw(st.sampled_from(["", "/", ".NPY", ".npy/"]))
            )
        elif broken == "data":
            member = member._replace(data=draw(st.binary(max_size=100)))
        elif broken == "header":
            member = member._replace(data=draw(npy_headers()) + draw(st.binary(max_size=64)))
        elif broken == "huge":  # declares far more than it holds
            dims = tuple(draw(st.lists(st.integers(1, 1 << 40), min_size=3, max_size=4)))
            member = member._replace(
                data=npy_header(dims, draw(st.sampled_from(["<f4", "<f2"])), draw(st.booleans()))
            )
        elif broken == "method":
            member = member._replace(method=draw(st.sampled_from([12, 14, 99])))
        elif broken == "flags":
            member = member._replace(flags=draw(st.sampled_from([1, 8, 0x40])))
        else:
            member = member._replace(zeros=draw(st.sampled_from([7, 4096])))
        table[i] = member
    buffer = io.BytesIO()
    write_zip(buffer, table)
    raw = bytearray(buffer.getvalue())
    if broken == "damage" and raw:
        for position, value in draw(
            st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=4)
        ):
            raw[position % len(raw)] = value
    if broken == "cut":
        raw = raw[: draw(st.integers(0, len(raw)))]
    return bytes(raw)


@FUZZ
@given(archive=archives(), row_axis=st.sampled_from([0, 1]))
def test_npz_archives_read_or_raise_an_input_error(tmp_path, archive, row_axis):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(archive)
    try:
        with ArrayFile(path) as source:
            for entry in source.entries:
                for _ in source.pieces(entry, 4096, row_axis):
                    pass
                if entry.images:
                    values, _ = sample(source, entry, 2, limit=2, pixels=64, budget=4096)
                    assert values.shape[1] == entry.image_shape[2]
    except InputFileError:
        pass


@pytest.mark.parametrize("key", [None, "missing"])
def test_input_errors_are_the_package_error(tmp_path, key):
    (tmp_path / "x.npz").write_bytes(b"PK\x05\x06" + bytes(18))
    with pytest.raises(DeprocessError, match=r"x\.npz"):
        ArrayFile(tmp_path / "x.npz", key=key)
