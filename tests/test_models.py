"""ingest.models: the quick __init__ the frozen models get must behave exactly as the one dataclasses writes."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from datetime import UTC, datetime

import pytest

from ingest.models import (
    Channel,
    Deletion,
    Metrics,
    Post,
    PostRef,
    RawRecord,
    Rejected,
    positional,
    quick_init,
)
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


@dataclasses.dataclass(frozen=True, slots=True)
class _Wide:
    """Enough fields for quick_init to store them through the mutable twin."""

    a: int
    b: int = 2
    c: int = 3
    d: int = 4
    e: int = 5
    f: int = 6
    g: int = 7
    h: list[int] = dataclasses.field(default_factory=list)


quick_init(_Wide)


class _WideChild(_Wide):
    __slots__ = ("extra",)


def test_a_model_stored_through_its_twin_is_its_own_class_again():
    wide = _Wide(1, h=[8])
    assert type(wide) is _Wide and dataclasses.astuple(wide) == (1, 2, 3, 4, 5, 6, 7, [8])
    assert wide == _Wide(1, 2, 3, 4, 5, 6, 7, [8]) and _Wide(1).h is not _Wide(1).h
    with pytest.raises(dataclasses.FrozenInstanceError):
        wide.a = 2  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(wide)) == wide
    when = datetime(2026, 1, 2, tzinfo=UTC)
    post = Post("x", 1, 2, when, "t")
    assert type(post) is Post and post.raw_hash is None and post.deleted is False


def test_a_subclass_instance_keeps_its_class():
    child = _WideChild(1, 9)
    assert type(child) is _WideChild and (child.a, child.b, child.h) == (1, 9, [])


def test_no_twin_for_a_class_whose_layout_differs():
    from ingest.models import _mutable_twin

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Child(Base):
        b: int

    assert _mutable_twin(Child) is None
    assert _mutable_twin(_Wide) is not None


def test_positional_builds_what_keywords_build():
    when = datetime(2021, 9, 22, 16, 37, 29, tzinfo=UTC)
    kwargs = dict(
        platform="x", channel_id=1, post_id=2, posted_at=when, text="t", channel=Channel("x", 1, "h", "n"),
        edited_at=when, version_at=when, source_post_id=3, lang="en", url="u", reply_to=PostRef("x", 1, 2, when),
        quoted=None, reposted=PostRef("x", 4, 5), media=({"type": "photo", "id": "3_1"},), links=("l",),
        hashtags=("h",), mentions=("m",), metrics=Metrics(views=1), observed_at=when, source="s", raw={"a": 1},
        origin="o",
    )  # fmt: skip
    make = positional(Post, tuple(kwargs))
    built = make(*kwargs.values())
    assert built == Post(**kwargs)
    assert repr(built) == repr(Post(**kwargs))  # origin and raw_hash are left out of ==, not of repr
    assert [getattr(built, f.name) for f in dataclasses.fields(Post)] == [
        getattr(Post(**kwargs), f.name) for f in dataclasses.fields(Post)
    ]
    metrics = positional(Metrics, ("views", "reposts", "replies", "likes", "quotes"))
    assert metrics(1, 2, 3, 4, 5) == Metrics(views=1, reposts=2, replies=3, likes=4, quotes=5)


def test_positional_refuses_unknown_or_missing_fields():
    with pytest.raises(TypeError, match="no field"):
        positional(Post, ("platform", "nope"))
    with pytest.raises(TypeError, match="required"):
        positional(Post, ("platform", "post_id"))
