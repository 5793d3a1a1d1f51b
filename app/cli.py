"""Command-line tools: `flask token` and `flask indexes`."""

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app import auth, db


@click.command("token")
@click.option(
    "--company", "company_id", required=True, help="The company the token acts for."
)
@click.option("--user", "user_id", default="local-user", show_default=True)
@click.option(
    "--roles",
    default="admin",
    show_default=True,
    help="Comma-separated: viewer, pilot, approver, admin.",
)
@click.option("--ttl", default=3600, show_default=True, help="Lifetime in seconds.")
@with_appcontext
def token_command(company_id, user_id, roles, ttl):
    """Mint a bearer token signed with this service's JWT_SECRET."""
    names = [r.strip() for r in roles.split(",") if r.strip()]
    unknown = [r for r in names if r not in auth.ROLES]
    if unknown:
        raise click.BadParameter(
            f"unknown role(s): {', '.join(unknown)}", param_hint="--roles"
        )
    click.echo(auth.mint_token(current_app, user_id, company_id, names, ttl))


@click.group("indexes", cls=AppGroup)
def indexes_group():
    """Manage the database's indexes."""


@indexes_group.command("create")
def create_indexes_command():
    """Create every index the queries need (idempotent)."""
    for collection, name in db.ensure_indexes():
        click.echo(f"{collection}: {name}")


def init_app(app):
    app.cli.add_command(token_command)
    app.cli.add_command(indexes_group)
