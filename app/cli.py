"""Command-line tools: `flask token` and `flask indexes`."""

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from pymongo import errors as mongo_errors

from app import auth, db
from config import ConfigError


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
    try:
        click.echo(auth.mint_token(current_app, user_id, company_id, names, ttl))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("indexes", cls=AppGroup)
def indexes_group():
    """Manage the database's indexes."""


EMBEDDED_NOTE = (
    "MONGODB_URI is not set: this command works on an embedded store of its "
    "own, which ends with it; a running service's embedded store is not "
    "reachable from here. Set MONGODB_URI to manage a database's indexes."
)


def _database_errors(action):
    """One line instead of a traceback when the database refuses or is away."""
    if db.handle().embedded:
        click.echo(EMBEDDED_NOTE, err=True)
    host = db.handle().host
    try:
        return action()
    except db.IndexConflict as exc:
        raise click.ClickException(
            f"{exc}. Drop that index (or, for a changed TTL, change it with "
            "collMod) and run this again."
        ) from None
    except mongo_errors.ConnectionFailure as exc:
        raise click.ClickException(
            f"the database at {host} is unreachable ({exc.__class__.__name__})."
        ) from None
    except mongo_errors.PyMongoError as exc:
        raise click.ClickException(
            f"the database at {host} refused: {exc.__class__.__name__}"
        ) from None


@indexes_group.command("create")
@with_appcontext
def create_indexes_command():
    """Create every index the queries need (idempotent)."""
    for collection, name in _database_errors(db.ensure_indexes):
        click.echo(f"{collection}: {name}")


@indexes_group.command("list")
@with_appcontext
def list_indexes_command():
    """Show the indexes each collection holds, with their options."""
    for collection, name, keys, options in _database_errors(db.describe_indexes):
        fields = ", ".join(f"{field} {direction}" for field, direction in keys)
        extra = "".join(f" {k}={v}" for k, v in sorted(options.items()))
        click.echo(f"{collection}: {name} ({fields}){extra}")


def init_app(app):
    app.cli.add_command(token_command)
    app.cli.add_command(indexes_group)
