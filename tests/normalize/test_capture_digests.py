"""Every shared capture (and the bad-input corpus) normalises to exactly what it did before the normalisers were
made faster: same posts field by field (raw payload and origin included), same rejects with the same reasons.
The digests were taken from the code before the change (see `capture_digest`)."""

from __future__ import annotations

import json

import pytest

from tests.normalize.capture_digest import DIGESTS, captures, digest

_WANT: dict[str, str] = json.loads(DIGESTS.read_text())


def test_every_capture_has_a_digest(shared_data):
    assert sorted(captures(shared_data)) == sorted(_WANT)


@pytest.mark.parametrize("name", sorted(_WANT))
def test_capture_normalises_as_before(shared_data, name):
    assert digest(captures(shared_data)[name](), shared_data) == _WANT[name]
