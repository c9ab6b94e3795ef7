"""ingest.models: the quick __init__ the frozen models get must behave exactly as the one dataclasses writes."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from datetime import UTC, datetime

import pytest

from ingest.models import Channel, Deletion, Metrics, Post, PostRef, RawRecord, Rejected, quick_init
from ingest.sources.lines import Line


@pytest.mark.parametrize("cls", [Channel, Deletion, Metrics, Post, PostRef, RawRecord, Rejected, Line])
def test_quick_init_keeps_the_dataclass_signature(cls):
    plain = dataclasses.make_dataclass(
        cls.__name__,
        [(f.name, f.type, f) for f in dataclasses.fields(cls)],
        frozen=True,
    )
    ours, theirs = inspect.signature(cls), inspect.signature(plain)
    assert list(ours.parameters) == list(theirs.parameters)
    for name, p in ours.parameters.items():
        q = theirs.parameters[name]
        assert p.kind == q.kind and p.annotation == q.annotation
        assert (p.default is inspect.Parameter.empty) == (q.default is inspect.Parameter.empty)
        if repr(q.default) != "<factory>":
            assert p.default == q.default or p.default is q.default


def test_a_quick_init_model_is_still_frozen_equal_picklable_and_replaceable():
    when = datetime(2026, 1, 2, tzinfo=UTC)
    post = Post("x", 1, 2, when, "text", channel=Channel("x", 1, "h"), metrics=Metrics(views=3), origin="f:1")
    assert post.text == "text" and post.kind == "post" and post.media == () and post.origin == "f:1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        post.text = "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(post)) == post
    assert dataclasses.replace(post, text="new").text == "new"
    assert Post("x", 1, 2, when) == Post(platform="x", channel_id=1, post_id=2, posted_at=when)
    with pytest.raises(TypeError):
        Post("x", 1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Post("x", 1, 2, when, nonsense=1)  # type: ignore[call-arg]


def test_default_factories_give_each_instance_its_own_value():
    a, b = RawRecord("s", None), RawRecord("s", None)
    assert a.context == {} and a.context is not b.context
    given = {"k": 1}
    assert RawRecord("s", None, context=given).context is given


def test_quick_init_refuses_what_it_cannot_copy():
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithPostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    with pytest.raises(TypeError):
        quick_init(WithPostInit)
