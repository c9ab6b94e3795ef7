"""`wirewatch eval grouping`: score event grouping on CrisisLexT26-style folders or same-story pair files."""

from __future__ import annotations

from pathlib import Path

import typer

from ingest.cli import app, common
from ingest.events.cluster import Params
from ingest.events.evaluate import HALVES, LEAD_CHARS, eval_crisislex, eval_pairs

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
        LEAD_CHARS, help="Pairs: characters of each article body kept after its title (0: all)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Print B-cubed P/R/F1 of storylines and events (CrisisLex) or pairwise P/R/F1 (pairs), with throughput."""
    if half not in HALVES:
        typer.echo(f"error: --half must be one of {', '.join(HALVES)}", err=True)
        raise typer.Exit(2)
    if not crisislex and not pairs:
        typer.echo("error: give --crisislex DIR and/or --pairs FILE", err=True)
        raise typer.Exit(2)
    params = Params()
    out: dict = {"params": params.fingerprint(), "half": half}
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
    if "pairs" in out:
        d = out["pairs"]
        typer.echo(
            f"pairs     same-story P {d['precision']:.3f}  R {d['recall']:.3f}  F1 {d['f1']:.3f}  "
            f"({d['pairs']} pairs: tp {d['tp']} fp {d['fp']} fn {d['fn']} tn {d['tn']}, "
            f"{d['posts_per_second']:.0f} texts/s)"
        )
