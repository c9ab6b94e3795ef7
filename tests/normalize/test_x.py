"""ingest.normalize.x on real X API v2 pages (twarc-csv test data, tweepy cassettes), then through the warehouse."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.models import Deletion, Post, RawRecord, Rejected
from ingest.normalize.x import normalize_page, snowflake_time
from ingest.run.imports import import_files
from ingest.sources.x import read_pages
from ingest.warehouse.queries import table_checksums, table_counts

UTC = timezone.utc
EDIT_FIRST, EDIT_LATEST = 1576994746135764992, 1576994789110992896
JANE = 337119125


def _twarc(shared_data: Path, name: str) -> Path:
    return shared_data / "x_api_v2" / "twarc_pages" / f"{name}.jsonl"


def _items(path: Path) -> list:
    return [item for rec in read_pages(path) for item in normalize_page(rec)]


def _posts(path: Path) -> list[Post]:
    return [i for i in _items(path) if isinstance(i, Post)]


def _page(path: Path, line: int = 1) -> dict:
    return orjson.loads(path.read_bytes().splitlines()[line - 1])


def _by_source_id(posts: list[Post]) -> dict[int, Post]:
    return {p.source_post_id: p for p in posts}


# ------------------------------------------------------------------------------------------- pure


def test_every_twarc_file_normalises_to_posts_rejects_or_deletions(shared_data):
    files = sorted((shared_data / "x_api_v2" / "twarc_pages").glob("*.jsonl"))
    assert len(files) == 13
    for path in files:
        items = _items(path)
        assert items, path.name
        expected_posts = 0
        for line in path.read_bytes().splitlines():
            try:
                page = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(page, dict) or "id" in page:
                continue
            data = page.get("data") or []
            data = [data] if isinstance(data, dict) else data
            data_ids = {t["id"] for t in data}
            expected_posts += len(data) + sum(
                1 for t in page.get("includes", {}).get("tweets", []) if t["id"] not in data_ids
            )
        posts = [i for i in items if isinstance(i, Post)]
        assert len(posts) == expected_posts, path.name
        for p in posts:
            assert p.platform == "x" and p.source == "x_v2_jsonl"
            for t in (p.posted_at, p.version_at, p.observed_at):
                assert t is not None and t.tzinfo is not None and t.utcoffset().total_seconds() == 0
            assert p.posted_at <= p.version_at
            assert isinstance(p.channel_id, int) and isinstance(p.post_id, int)
            assert p.channel is not None and p.channel.channel_id == p.channel_id
            assert "&amp;" not in p.text


def test_edited_post_is_keyed_by_its_first_id_and_every_version_agrees_on_posted_at(shared_data):
    for name in ("edited_before", "edited", "edited_after"):
        versions = _by_source_id(_posts(_twarc(shared_data, name)))
        assert set(versions) == {EDIT_FIRST, EDIT_LATEST}, name
        first, latest = versions[EDIT_FIRST], versions[EDIT_LATEST]
        assert first.key == latest.key == ("x", JANE, EDIT_FIRST)
        assert first.posted_at == latest.posted_at == datetime(2022, 10, 3, 17, 57, 1, tzinfo=UTC)
        assert first.version_at == datetime(2022, 10, 3, 17, 57, 1, tzinfo=UTC)
        assert latest.version_at == latest.edited_at == datetime(2022, 10, 3, 17, 57, 11, tzinfo=UTC)
        assert first.edited_at is None
        assert latest.text == "hey :) https://t.co/rnwEIoNuqd"
        assert first.text.startswith("i miss y\u2019all so much haha")
        assert first.content_hash() != latest.content_hash()
        # Only the latest version carries counts: the first version's are frozen at the edit.
        assert first.metrics is None
        assert latest.metrics is not None and latest.metrics.likes in (27, 32)
        assert latest.url == f"https://x.com/wongmjane/status/{EDIT_LATEST}"
        assert latest.channel.handle == "wongmjane" and latest.channel.title == "Jane Manchun Wong"


def test_first_version_media_hash_does_not_depend_on_what_the_page_expanded(shared_data):
    """edited_before expands the photo (includes.media), edited.jsonl does not: same content, same hash."""
    expanded = _by_source_id(_posts(_twarc(shared_data, "edited_before")))[EDIT_FIRST]
    bare = _by_source_id(_posts(_twarc(shared_data, "edited")))[EDIT_FIRST]
    assert expanded.media[0]["media_url"] == "https://pbs.twimg.com/media/FeKcHsVaUAEYpU_.jpg"
    assert expanded.media[0]["alt_text"] == "selfie of me with memoji"
    assert "media_url" not in bare.media[0]
    assert expanded.media[0]["type"] == bare.media[0]["type"] == "photo"
    assert expanded.content_hash() == bare.content_hash()


def test_posted_at_from_the_snowflake_when_the_first_version_is_not_in_the_page(shared_data):
    page = _page(_twarc(shared_data, "edited"))
    page.pop("includes")
    (post,) = normalize_page(RawRecord("x_v2_jsonl", page, "t"))
    assert post.post_id == EDIT_FIRST and post.source_post_id == EDIT_LATEST
    assert post.posted_at == datetime(2022, 10, 3, 17, 57, 1, tzinfo=UTC)
    assert post.channel.handle is None and post.url == f"https://x.com/i/web/status/{EDIT_LATEST}"


def test_snowflake_time_matches_created_at_to_the_second(shared_data):
    checked = 0
    for path in (shared_data / "x_api_v2" / "twarc_pages").glob("*.jsonl"):
        for rec in read_pages(path):
            for p in normalize_page(rec):
                if isinstance(p, Post) and p.source_post_id == p.post_id and p.post_id >= 30_000_000_000:
                    assert snowflake_time(p.post_id) == p.posted_at
                    checked += 1
    assert checked > 400


def test_pre_snowflake_id_takes_created_at(shared_data):
    (post,) = [
        p for p in _items(_twarc(shared_data, "withheld")) if isinstance(p, Post) and p.post_id == 25712847277
    ]
    assert snowflake_time(25712847277) is None
    assert post.posted_at == datetime(2010, 9, 27, 19, 6, 5, tzinfo=UTC)


def test_repost_takes_the_full_text_of_the_original(shared_data):
    posts = _by_source_id(_posts(_twarc(shared_data, "mentions_tweet")))
    rt, original = posts[1589681856941002753], posts[1589671906718134272]
    assert rt.text == original.text
    assert rt.text.startswith("Looking for gaming mutuals") and rt.text.endswith("https://t.co/nyzCbH5jW2")
    assert "\u2026" not in rt.text and not rt.text.startswith("RT @")
    assert rt.reposted.channel_id == 1221317221714157569 and rt.reposted.post_id == 1589671906718134272
    assert rt.reposted.posted_at == original.posted_at
    assert rt.channel_id == 68401342 and original.channel_id == 1221317221714157569
    assert [m["type"] for m in rt.media] == ["animated_gif"] * 4
    assert rt.hashtags == ("Xbox", "PlayStation", "gaming") and "Xbox" in rt.mentions
    assert rt.metrics is None  # X reports the original's repost count on a repost: not its own
    assert original.metrics.likes == 6

    rt2 = _by_source_id(_posts(_twarc(shared_data, "two_tweets")))[1394735776701816833]
    assert rt2.text == "#POIUYTREWQ" and rt2.lang is None  # und
    assert rt2.reposted.post_id == 1391677057810288641 and rt2.reposted.channel_id == 1380086327023169540


def test_repost_whose_original_is_missing_keeps_the_truncated_text_and_says_so(shared_data):
    path = _twarc(shared_data, "withheld")
    page = _page(path, 5)
    # An original may sit in includes.tweets or among the page's own data.
    included = {t["id"] for t in page["includes"]["tweets"]} | {t["id"] for t in page["data"]}
    missing = [
        t for t in page["data"]
        if any(r["type"] == "retweeted" and r["id"] not in included for r in t.get("referenced_tweets", []))
    ]  # fmt: skip
    assert len(missing) == 30
    posts = _by_source_id(
        [p for p in normalize_page(RawRecord("x_v2_jsonl", page, "w:5")) if isinstance(p, Post)]
    )
    for t in missing:
        p = posts[int(t["id"])]
        assert p.text == t["text"].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        assert p.text.startswith("RT @")
        assert {"type": "flag", "id": "truncated_repost"}.items() <= p.media[-1].items()
        ref = next(r for r in t["referenced_tweets"] if r["type"] == "retweeted")
        assert p.reposted.post_id == int(ref["id"])
    # The mention in "RT @user:" carries no id in 2021 data: the author comes from includes.users by username
    # when X expanded that user (21 of 30 here), else it stays unknown.
    users = {u["username"]: int(u["id"]) for u in page["includes"]["users"]}
    got = {int(t["id"]): posts[int(t["id"])].reposted.channel_id for t in missing}
    want = {int(t["id"]): users.get(t["entities"]["mentions"][0]["username"]) for t in missing}
    assert got == want and sum(v is not None for v in got.values()) == 21


def test_reply_and_quote_point_at_the_referenced_post_key(shared_data):
    posts = _by_source_id(_posts(_twarc(shared_data, "quoted_edit")))
    reply = posts[1576995594388000768]
    # It replied to the edited version 1576994789110992896 and quoted the first: both are post 1576994746135764992.
    assert reply.reply_to.post_id == EDIT_FIRST and reply.reply_to.channel_id == JANE
    assert reply.quoted.post_id == EDIT_FIRST and reply.quoted.channel_id == JANE
    assert reply.mentions == ("wongmjane",)
    assert reply.links == (f"https://twitter.com/wongmjane/status/{EDIT_FIRST}",)


def test_withheld_posts_carry_a_flag_and_keep_the_object_in_raw(shared_data):
    posts = _posts(_twarc(shared_data, "withheld"))
    flagged = [p for p in posts if any(m.get("id") == "withheld" for m in p.media)]
    assert len(flagged) >= 14
    first = next(p for p in posts if p.post_id == 1388424788171841537)
    flag = next(m for m in first.media if m.get("id") == "withheld")
    assert flag == {"type": "flag", "id": "withheld", "country_codes": ["IN"], "copyright": False}
    assert first.raw["tweet"]["withheld"]["country_codes"] == ["IN"]
    assert first.raw["author"]["withheld"] == {"country_codes": ["IN"]}
    copyright_ = next(p for p in posts if p.post_id == 1257108668492984321)
    assert any(m.get("copyright") is True and m.get("scope") == "tweet" for m in copyright_.media)


def test_errors_become_one_precise_reject_each(shared_data):
    rejects = [i for i in _items(_twarc(shared_data, "withheld")) if isinstance(i, Rejected)]
    assert len(rejects) == 5
    not_found = [r for r in rejects if r.post_id == 506694458445152256]
    assert len(not_found) == 1
    assert not_found[0].reason == (
        "X API error Not Found Error: Could not find tweet with referenced_tweets.id: [506694458445152256]. "
        "(resource_type=tweet, resource_id=506694458445152256, parameter=referenced_tweets.id)"
    )
    suspended = [r for r in rejects if "suspended" in r.reason]
    assert {r.payload["resource_id"] for r in suspended} == {"RSS4India", "Anoop455", "2245"}
    assert all(r.origin.endswith("withheld.jsonl:5") for r in suspended)
    assert next(r for r in suspended if r.payload["resource_id"] == "2245").channel_id == 2245


def test_lang_codes_without_a_language_become_none(shared_data):
    langs = {
        p.lang for path in (shared_data / "x_api_v2" / "twarc_pages").glob("*.jsonl") for p in _posts(path)
    }
    assert not langs & {"und", "qst", "zxx", "qme", "qht", "qam"}
    assert None in langs and "en" in langs
    assert "id" in langs and "in" not in langs  # X's legacy code for Indonesian


def test_media_links_and_entities(shared_data):
    (video,) = _posts(_twarc(shared_data, "media_tweet"))
    (m,) = video.media
    assert m["type"] == "video" and m["id"] == "7_1558552952549277696" and m["duration_ms"] == 71292
    assert m["variant_url"].endswith("1280x720/WiZrNZKT2lMzK5zA.mp4?tag=12")  # highest bit rate
    assert m["preview_image_url"].startswith("https://pbs.twimg.com/")
    assert video.links == ()  # the only URL is the video's own pic.twitter.com link

    urls = _by_source_id(_posts(_twarc(shared_data, "many_urls")))[1610692575752601600]
    assert urls.links == ("https://uiadrian.gumroad.com/l/web-design-guide/?offer_code=twk0uc9f7",)
    assert urls.reply_to.post_id == 1610623087061471232 and urls.reply_to.channel_id == 1328271312628936705

    edited = _by_source_id(_posts(_twarc(shared_data, "edited_before")))[EDIT_FIRST]
    assert edited.links == ()  # "show more" self link and the photo link are not outbound links

    brexit = _posts(_twarc(shared_data, "brexit"))
    assert any("& owned something like Corbyns" in p.text for p in brexit)
    poll = [m for p in brexit for m in p.media if m["type"] == "poll"]
    assert poll and poll[0]["id"] == "1440382209790132235" and len(poll[0]["options"]) == 3


def test_observed_at_is_the_fetch_time_else_twarc_retrieved_at(shared_data):
    page = _page(_twarc(shared_data, "cotweet"))
    (p,) = normalize_page(RawRecord("x_v2_jsonl", page, "c"))
    assert p.observed_at == datetime(2022, 10, 4, 15, 27, 59, tzinfo=UTC)
    fetched = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    (q,) = normalize_page(RawRecord("x_api", page, "c", fetched_at=fetched))
    assert q.observed_at == fetched and q.source == "x_api"
    assert q.raw["tweet"]["id"] == "1577318900085186562" and q.raw["author"]["username"] == "staringispolite"
    assert "data" not in q.raw and "includes" not in q.raw  # the tweet and what it used, not the page


def test_note_tweet_full_text_wins_over_the_cut_text(shared_data):
    page = _page(_twarc(shared_data, "cotweet"))
    long_text = "who need they cotwussy tested " + "and more words " * 30
    page["data"][0]["note_tweet"] = {
        "text": long_text,
        "entities": {"hashtags": [{"start": 0, "end": 3, "tag": "long"}]},
    }
    (p,) = normalize_page(RawRecord("x_v2_jsonl", page, "c"))
    assert p.text == long_text and p.hashtags == ("long",)


def test_compliance_events_become_deletions(shared_data):
    items = _items(_twarc(shared_data, "tweets_compliance"))
    assert items == [
        # No redacted_at: the post's creation time is the only bound the record gives.
        Deletion(
            "x", None, 1170025343920402432, datetime(2019, 9, 6, 17, 25, 54, 667000, tzinfo=UTC), "x_v2_jsonl"
        ),
        Deletion(
            "x",
            None,
            1170147183095664640,
            datetime(2021, 8, 17, 17, 26, 15, 788000, tzinfo=UTC),
            "x_v2_jsonl",
        ),
    ]
    stream = {"data": {"delete": {"tweet": {"id": "601430178305220608", "author_id": "3198576760"},
                                  "event_at": "2022-12-23T12:34:56.789Z"}}}  # fmt: skip
    assert normalize_page(RawRecord("x_api", stream, "s")) == [
        Deletion(
            "x",
            3198576760,
            601430178305220608,
            datetime(2022, 12, 23, 12, 34, 56, 789000, tzinfo=UTC),
            "x_api",
        )
    ]
    v1 = {
        "delete": {
            "status": {"id": 1, "id_str": "1170025343920402432", "user_id_str": "42"},
            "timestamp_ms": "1567790754667",
        }
    }
    (d,) = normalize_page(RawRecord("x_v2_jsonl", v1, "v1"))
    assert d.post_id == 1170025343920402432 and d.channel_id == 42 and d.deleted_at.year == 2019
    (geo,) = normalize_page(
        RawRecord("x_v2_jsonl", {"id": "5", "action": "delete", "reason": "scrub_geo"}, "g")
    )
    assert isinstance(geo, Rejected) and "does not remove the post" in geo.reason
    (edit,) = normalize_page(RawRecord("x_v2_jsonl", {"data": {"tweet_edit": {"tweet": {"id": "7"}}}}, "e"))
    assert isinstance(edit, Rejected) and "'tweet_edit' is not a deletion" in edit.reason


def test_corrupt_and_foreign_pages_are_rejected_with_the_reason(shared_data):
    recs = list(read_pages(_twarc(shared_data, "streaming_output_with_error")))
    (bad,) = [i for i in normalize_page(recs[-1])]
    assert isinstance(bad, Rejected)
    assert bad.reason.startswith("line is not valid JSON: unexpected end of data")
    assert bad.raw_text == '{"data": {"author_id": "1021159080151404544"' and bad.origin.endswith(":8")
    (lst,) = normalize_page(RawRecord("x_v2_jsonl", [1, 2], "l"))
    assert lst.reason.startswith("page is a JSON list")
    (foreign,) = normalize_page(RawRecord("x_v2_jsonl", {"_": "Message", "id": 3}, "f"))
    assert foreign.reason.startswith("not an X API v2 page")
    (bad_data,) = normalize_page(RawRecord("x_v2_jsonl", {"data": "nope"}, "d"))
    assert bad_data.reason == "corrupt page: data is a str, expected an object or a list"
    tweet = {"id": "1577318900085186562", "text": "x", "author_id": "18591618", "created_at": "yesterday"}
    (t,) = normalize_page(RawRecord("x_v2_jsonl", {"data": [tweet]}, "t"))
    assert t.reason == "tweet 1577318900085186562 (data[0]): created_at is not ISO 8601: 'yesterday'"
    assert t.post_id == 1577318900085186562 and t.channel_id == 18591618
    (naive,) = normalize_page(
        RawRecord("x_v2_jsonl", {"data": [{**tweet, "created_at": "2022-10-04T15:25:05"}]}, "n")
    )
    assert "has no time zone" in naive.reason
    (far,) = normalize_page(
        RawRecord("x_v2_jsonl", {"data": [{**tweet, "created_at": "9999-12-31T23:59:59-01:00"}]}, "f")
    )
    assert (
        far.reason
        == "tweet 1577318900085186562 (data[0]): created_at is out of range in UTC: '9999-12-31T23:59:59-01:00'"
    )
    (no_author,) = normalize_page(
        RawRecord("x_v2_jsonl", {"data": [{"id": "1577318900085186562", "text": "x"}]}, "a")
    )
    assert "author_id missing" in no_author.reason
    assert normalize_page(RawRecord("x_api", {"meta": {"result_count": 0}}, "empty")) == []


def _cassette_body(shared_data: Path, name: str) -> dict:
    cassette = yaml.safe_load((shared_data / "x_api_v2" / "tweepy_cassettes" / f"{name}.yaml").read_text())
    return json.loads(gzip.decompress(cassette["interactions"][0]["response"]["body"]["string"]))


def test_default_field_pages_take_the_author_from_the_source_and_time_from_the_id(shared_data):
    page = _cassette_body(shared_data, "test_client_get_users_tweets")
    rec = RawRecord(
        "x_api", page, "x_api:/2/users/783214/tweets", context={"author_id": "783214", "handle": "twitter"}
    )
    posts = normalize_page(rec)
    assert [p.post_id for p in posts] == [1577730467436138524, 1565318587736285184]
    assert all(p.channel_id == 783214 and p.channel.handle == "twitter" for p in posts)
    assert (
        posts[0].posted_at
        == snowflake_time(1577730467436138524)
        == datetime(2022, 10, 5, 18, 40, 30, tzinfo=UTC)
    )
    assert posts[0].url == "https://x.com/twitter/status/1577730467436138524"
    assert posts[0].metrics is None and posts[0].lang is None
    # Without the source's context a default-field page cannot say whose posts these are.
    assert all(isinstance(r, Rejected) for r in normalize_page(RawRecord("x_api", page, "no-context")))


# JSON decoders hand the normaliser 64-bit integers at most (orjson refuses larger ones).
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=8)
    | st.sampled_from(["1577318900085186562", "2022"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_real_page_never_raises(shared_data, data):
    """Replace any node of a real page with arbitrary JSON: the normaliser still answers with records."""
    page = _page(_twarc(shared_data, "quoted_edit"))
    paths = list(_paths(page))
    path = data.draw(st.sampled_from(paths[1:]))
    node = page
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = data.draw(_JSON)
    items = normalize_page(RawRecord("x_v2_jsonl", page, "fuzz"))
    assert all(isinstance(i, Post | Rejected | Deletion) for i in items)
    for p in items:
        if isinstance(p, Post):
            assert p.posted_at.tzinfo is not None and isinstance(p.text, str)
            orjson.dumps(p.raw)


# --------------------------------------------------------------------------------------- warehouse


def _one(conn, sql, *args):
    return conn.execute(sql, args).fetchone()


def _import_all(conn, shared_data):
    folder = shared_data / "x_api_v2" / "twarc_pages"
    return folder, import_files(conn, [folder])


def test_every_twarc_file_imports(conn, shared_data):
    _, summaries = _import_all(conn, shared_data)
    assert len(summaries) == 13 and all(s.error is None and s.format == "x-v2-jsonl" for s in summaries), (
        summaries
    )
    counts = table_counts(conn)
    # 459 posts + the edited one; only the edited post has a history (versions start at the first change).
    assert counts["posts"] == 460 and counts["post_versions"] == 2, counts
    assert counts["rejected_records"] == 6  # 5 errors[] + the corrupt stream line
    assert _one(conn, "SELECT count(*) FROM posts WHERE deleted_at IS NOT NULL")[0] == 0
    assert _one(conn, "SELECT count(DISTINCT channel_id) FROM posts")[0] > 200
    assert _one(conn, "SELECT count(*) FROM raw_records")[0] >= 460


def test_a_second_import_changes_nothing_but_run_records(conn, shared_data):
    folder, _ = _import_all(conn, shared_data)
    counts = table_counts(conn)
    posts_before = table_checksums(conn, ("posts", "post_versions", "raw_records", "rejected_records"))
    second = import_files(conn, [folder])
    assert sum(s.stats.inserted for s in second) == 0 and sum(s.stats.versions for s in second) == 0
    assert (
        table_checksums(conn, ("posts", "post_versions", "raw_records", "rejected_records")) == posts_before
    )
    assert {k: v for k, v in table_counts(conn).items() if k != "post_metrics"} == {
        k: v for k, v in counts.items() if k != "post_metrics"
    }


def test_a_second_import_changes_nothing_at_all(conn, shared_data):
    folder, _ = _import_all(conn, shared_data)
    counts, sums = table_counts(conn), table_checksums(conn)
    import_files(conn, [folder])
    assert table_counts(conn) == counts
    assert table_checksums(conn) == sums


@pytest.mark.parametrize("order", list(itertools.permutations(("edited_before", "edited", "edited_after"))))
def test_edited_trio_is_one_post_with_its_versions_in_any_import_order(conn, shared_data, order):
    import_files(conn, [_twarc(shared_data, n) for n in order])
    rows = conn.execute(
        "SELECT post_id, text, posted_at, version_at FROM posts WHERE channel_id = %s", (JANE,)
    ).fetchall()
    assert rows == [(EDIT_FIRST, "hey :) https://t.co/rnwEIoNuqd", datetime(2022, 10, 3, 17, 57, 1, tzinfo=UTC),
                     datetime(2022, 10, 3, 17, 57, 11, tzinfo=UTC))]  # fmt: skip
    versions = conn.execute(
        "SELECT source_post_id, version_at, left(text, 10) FROM post_versions WHERE post_id = %s ORDER BY version_at",
        (EDIT_FIRST,),
    ).fetchall()
    assert versions == [
        (EDIT_FIRST, datetime(2022, 10, 3, 17, 57, 1, tzinfo=UTC), "i miss y\u2019a"),
        (EDIT_LATEST, datetime(2022, 10, 3, 17, 57, 11, tzinfo=UTC), "hey :) htt"),
    ]
    # The counts are those of the latest observation (32 likes, from edited_before and edited_after), in any order.
    assert _one(conn, "SELECT likes FROM posts WHERE post_id = %s", EDIT_FIRST) == (32,)


def test_a_repost_is_stored_with_the_full_text(conn, shared_data):
    import_files(conn, [_twarc(shared_data, "mentions_tweet")])
    text, rch, rpid, views = _one(
        conn,
        "SELECT text, reposted_channel_id, reposted_post_id, likes FROM posts WHERE post_id = 1589681856941002753",
    )
    assert (
        text.startswith("Looking for gaming mutuals")
        and "few dozen tweets" in text
        and text.endswith("nyzCbH5jW2")
    )
    assert (rch, rpid, views) == (1221317221714157569, 1589671906718134272, None)
    assert _one(conn, "SELECT handle FROM channels WHERE channel_id = 1221317221714157569")[0] == "s3nt1n3l17"


def test_withheld_flag_and_errors_reach_the_warehouse(conn, shared_data):
    (summary,) = import_files(conn, [_twarc(shared_data, "withheld")])
    assert summary.stats.rejected == 5
    reasons = [r[0] for r in conn.execute("SELECT reason FROM rejected_records ORDER BY reason")]
    assert reasons[0].startswith("X API error Forbidden: User has been suspended: [2245].")
    assert sum("Not Found Error" in r for r in reasons) == 2
    media, payload = _one(
        conn,
        "SELECT p.media, r.payload FROM posts p JOIN raw_records r USING (platform, channel_id, post_id) "
        "WHERE p.post_id = 1388424788171841537",
    )
    assert {"type": "flag", "id": "withheld", "country_codes": ["IN"], "copyright": False} in media
    assert json.loads(payload)["tweet"]["withheld"] == {"copyright": False, "country_codes": ["IN"]}


def test_compliance_deletes_mark_stored_posts_deleted(conn, shared_data, tmp_path):
    page = {"data": [
        {"id": "1170025343920402432", "author_id": "42", "text": "a", "created_at": "2019-09-06T17:25:54.000Z"},
        {"id": "1170147183095664640", "author_id": "42", "text": "b", "created_at": "2019-09-07T01:30:03.000Z"},
    ]}  # fmt: skip
    (tmp_path / "posts.jsonl").write_bytes(orjson.dumps(page) + b"\n")
    import_files(conn, [tmp_path / "posts.jsonl"])
    (summary,) = import_files(conn, [_twarc(shared_data, "tweets_compliance")])
    assert summary.error is None and summary.stats.deleted == 2
    rows = conn.execute("SELECT post_id, deleted_at FROM posts ORDER BY post_id").fetchall()
    assert rows == [
        (1170025343920402432, datetime(2019, 9, 6, 17, 25, 54, 667000, tzinfo=UTC)),
        (1170147183095664640, datetime(2021, 8, 17, 17, 26, 15, 788000, tzinfo=UTC)),
    ]
