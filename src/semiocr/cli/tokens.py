"""``semiocr tokens create | list | revoke``: personal access tokens of the local user (for the HTTP API and OCR
services). A token is printed once, when it is created; only its hash is stored."""

from __future__ import annotations

import typer

from semiocr.cli.platform_common import as_local_user

tokens_app = typer.Typer(help="Personal access tokens.", no_args_is_help=True)


@tokens_app.command("create")
def create(name: str = typer.Option(..., "--name", help="what the token is for"),
           scope: list[str] = typer.Option(["manage", "ocr"], "--scope", help="manage | ocr (repeatable)")) -> None:
    """Create a token and print it (the only time it is shown)."""
    from semiocr.platform.users import create_token

    with as_local_user() as (s, user):
        tok = create_token(s, user, name, tuple(scope))
    typer.echo(tok.secret)
    typer.echo(f"token {tok.id} ({', '.join(tok.scopes)}) for {user.name}: store it now, it is not shown again",
               err=True)


@tokens_app.command("list")
def list_() -> None:
    """Your tokens (never their secrets)."""
    from semiocr.platform.users import list_tokens

    with as_local_user() as (s, user):
        for t in list_tokens(s, user):
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            typer.echo(f"{t.id}\t{t.name}\t{t.scopes}\tsot_{t.prefix}_…\t{state}")


@tokens_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="token id (see `tokens list`)")) -> None:
    """Revoke a token: it stops working at once."""
    from semiocr.platform.users import revoke_token

    with as_local_user() as (s, user):
        revoke_token(s, user, token_id)
    typer.echo(f"token {token_id} revoked")


users_app = typer.Typer(help="Your user account.", no_args_is_help=True)


@users_app.command("password")
def password(new: str = typer.Option(..., "--password", prompt=True, hide_input=True, confirmation_prompt=True,
                                     help="at least 8 characters")) -> None:
    """Set the local user's password (stored as an Argon2 hash): ``POST /v1/login`` exchanges it for a token."""
    from semiocr.platform.users import set_password

    with as_local_user() as (s, user):
        set_password(s, user, new)
        typer.echo(f"password set for {user.name}")
