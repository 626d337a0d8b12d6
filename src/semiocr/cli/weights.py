"""``semiocr weights mark | unmark | list``: nicknames for checkpoints, usable wherever weights are named."""

from __future__ import annotations

import typer

from semiocr.cli.platform_common import as_local_user, echo_json

weights_app = typer.Typer(help="Marked weights: nicknames for checkpoints.", no_args_is_help=True)


@weights_app.command("mark")
def mark(ckpt: str = typer.Argument(..., help="checkpoint id (#N, see `runs show`), file, run directory or mark"),
         nickname: str = typer.Option(..., "--nickname", "-n", help="the name to use it by (unique for you)")) -> None:
    """Keep an immutable copy of a checkpoint under a nickname."""
    from semiocr.platform.marks import mark as do_mark

    with as_local_user() as (s, user):
        m = do_mark(s, user, ckpt, nickname)
        typer.echo(f"marked {m.source} as {m.nickname!r} ({m.arch}, sha256 {m.sha256[:12]}…, stored {m.stored_path})")


@weights_app.command("unmark")
def unmark(nickname: str = typer.Argument(..., help="the nickname to remove")) -> None:
    """Remove a nickname (runs that used it keep their outputs)."""
    from semiocr.platform.marks import unmark as do_unmark

    with as_local_user() as (s, user):
        m = do_unmark(s, user, nickname)
    typer.echo(f"unmarked {m.nickname!r}")


@weights_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Your marked weights."""
    from semiocr.platform.marks import list_marks

    with as_local_user() as (s, user):
        rows = [{"nickname": m.nickname, "arch": m.arch, "checkpoint": m.checkpoint_id, "source": m.source,
                 "stored": m.stored_path, "sha256": m.sha256, "metrics": m.metrics,
                 "created_at": m.created_at.isoformat()} for m in list_marks(s, user)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in r["metrics"].items() if isinstance(v, int | float))
        typer.echo(f"{r['nickname']}\t{r['arch']}\t{r['source']}\t{metrics}")
