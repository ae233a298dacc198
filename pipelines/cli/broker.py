"""`agentaudit broker`: start, stop and inspect the local Kafka broker."""

from __future__ import annotations

import json

import click

from pipelines.kafka import broker


@click.group(name="broker")
def broker_group() -> None:
    """Manage the local Kafka broker (KRaft, 127.0.0.1:9092 by default)."""


@broker_group.command()
@click.option("--port", default=broker.DEFAULT_PORT, show_default=True, help="Client port.")
def start(port: int) -> None:
    """Start the broker, resolving its jars through Maven on first use; safe to repeat."""
    try:
        click.echo(broker.start(broker.BrokerInstance(port)))
    except broker.BrokerError as exc:
        raise click.ClickException(str(exc)) from exc


@broker_group.command()
@click.option("--port", default=broker.DEFAULT_PORT, show_default=True, help="Client port.")
def stop(port: int) -> None:
    """Stop the broker started from this repository."""
    stopped = broker.stop(broker.BrokerInstance(port))
    click.echo("stopped" if stopped else "not running")


@broker_group.command()
@click.option("--port", default=broker.DEFAULT_PORT, show_default=True, help="Client port.")
def status(port: int) -> None:
    """Print whether the broker runs, as JSON."""
    click.echo(json.dumps(broker.status(broker.BrokerInstance(port))))
