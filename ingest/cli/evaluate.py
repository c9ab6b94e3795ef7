"""`wirewatch eval grouping`: score event grouping on CrisisLexT26-style folders, same-story pair files, or a
grouped warehouse against hand-labelled post pairs (`--labels`)."""

from __future__ import annotations

from pathlib import Path

import typer

from ingest.cli import app, common

eval_app = typer.Typer(help="Measure quality and speed.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("grouping")
def grouping_cmd(
    crisislex: Path = typer.Option(None, "--crisislex", help="A folder in the CrisisLexT26 layout."),
    pairs: list[Path] = typer.Option(
        None, "--pairs", help="A pairs TSV (INPUT:first_text, INPUT:second_text, GOLDEN:quality); repeatable."
    ),
    half: str = typer.Option("all", help="all, tune or heldout: the half of the data (split by id hash)."),
    overlay: bool = typer.Option(
        False, help="CrisisLex: shift the events to start together (a harder stream)."
    ),
    mask_keywords: bool = typer.Option(
        False, "--mask-keywords", help="CrisisLex: blank the collection keywords out of the texts."
    ),
    lead: int = typer.Option(
        None, help="Pairs: characters of each article body kept after its title (0: all; default 300)."
    ),
    labels: list[Path] = typer.Option(
        None,
        "--labels",
        help="A labelled pairs TSV (channel_a post_a channel_b post_b label); scores the "
        "grouped warehouse (WIREWATCH_DSN) as it is; repeatable.",
    ),
    errors: bool = typer.Option(False, "--errors", help="Labels: list the pairs the grouping gets wrong."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Print B-cubed P/R/F1 of storylines and events (CrisisLex), pairwise P/R/F1 (pairs), with throughput, or
    the grouped warehouse's scores against labelled pairs."""
    # Imported here: grouping pulls in numpy and scipy, which no other command should pay for at start-up.
    from ingest.events.cluster import Params
    from ingest.events.evaluate import HALVES, LEAD_CHARS, eval_crisislex, eval_pairs

    lead = LEAD_CHARS if lead is None else lead
    if half not in HALVES:
        typer.echo(f"error: --half must be one of {', '.join(HALVES)}", err=True)
        raise typer.Exit(2)
    if not crisislex and not pairs and not labels:
        typer.echo("error: give --crisislex DIR, --pairs FILE and/or --labels FILE", err=True)
        raise typer.Exit(2)
    params = Params()
    out: dict = {"params": params.fingerprint(), "half": half}
    if labels:
        out["labels"] = _score_labels(labels, errors)
        if len(labels) > 1:
            from ingest.events.labels import pool

            pooled = pool(out["labels"].values()).as_dict()
            out["labels_pooled"] = {k: v for k, v in pooled.items() if k not in ("shares", "errors")}
    if crisislex:
        if not (crisislex / "tweet_times_utc.csv.gz").is_file():
            typer.echo(f"error: {crisislex} has no tweet_times_utc.csv.gz", err=True)
            raise typer.Exit(2)
        scores = eval_crisislex(crisislex, params, half=half, mask_keywords=mask_keywords, overlaid=overlay)
        out["crisislex"] = {k: v.as_dict() for k, v in scores.items()}
    if pairs:
        out["pairs"] = eval_pairs(pairs, params, half=half, lead=lead).as_dict()
    if as_json:
        common.echo_json(out)
        return
    for name, block in (("crisislex", out.get("crisislex")),):
        if not block:
            continue
        for level, d in block.items():
            typer.echo(
                f"{name} {level:9s} B-cubed P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}  "
                f"({d['clusters']} {level}s, {d['items']} posts, {d['posts_per_second']:.0f} posts/s)"
            )
        share = block["event"].get("max_day_share")
        if share:
            typer.echo(
                f"crisislex largest event share of a day's posts: {share['share']:.1%} of {share['day_posts']} "
                f"(days with >= {share['min_day_posts']} posts)"
            )
    for name, d in out.get("labels", {}).items():
        _print_labels(name, d)
    if "labels_pooled" in out:
        _print_labels(f"all {len(out['labels'])} files pooled", out["labels_pooled"])
    if "pairs" in out:
        d = out["pairs"]
        typer.echo(
            f"pairs     same-story P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}  "
            f"({d['pairs']} pairs: tp {d['tp']} fp {d['fp']} fn {d['fn']} tn {d['tn']}, "
            f"{d['posts_per_second']:.0f} texts/s)"
        )


def _score_labels(paths: list[Path], errors: bool) -> dict:
    from ingest.events.labels import LabelsError, read_labels, score

    out = {}
    with common.open_db() as conn:
        for path in paths:
            try:
                pairs = read_labels(path)
            except (OSError, LabelsError) as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(2) from exc
            out[str(path)] = score(conn, pairs, errors=errors).as_dict()
    return out


def _print_labels(name: str, d: dict) -> None:
    typer.echo(
        f"{name}: {d['pairs']} pairs ({', '.join(f'{k} {v}' for k, v in d['counts'].items())}), "
        f"{d['missing']} with a post not grouped"
    )
    typer.echo(
        f"  same event   P {d['event_precision']:.4f}  R {d['event_recall']:.4f}  F1 {d['event_f1']:.4f}  "
        f"(tp {d['tp']} fp {d['fp']} fn {d['fn']})"
    )
    typer.echo(
        f"  storyline    recall over SAME+STORY {d['storyline_recall']:.4f}; "
        f"DIFF pairs sharing a storyline {d['diff_sharing_storyline']:.4f}"
    )
    typer.echo(
        f"  storyline    pairs: SAME+STORY {d['story_shared']} of {d['story_pairs']} share one; "
        f"DIFF {d['diff_shared']} of {d['diff_pairs']}"
    )
    typer.echo(
        f"  copies       {d['copies']} near-verbatim SAME pairs, together {d['copies_together']:.4f} "
        f"({d['copies_joined']})"
    )
    for k, v in d.get("shares", {}).items():
        if v:
            typer.echo(f"  {k:28s} {v['share']:.2%} ({v['posts']} of {v['total']} posts)")
    for e in d.get("errors", []):
        typer.echo(f"  {e['label']:5s} grouped-together={e['same_event']} {e['a']} {e['b']}")
        typer.echo(f"      A: {e['text_a'][:200]!r}")
        typer.echo(f"      B: {e['text_b'][:200]!r}")
