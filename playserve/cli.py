"""`playserve`: one command line for people and CI. Platform verbs (platform_commands), delivery
verbs (delivery_commands), and the verbs each model folder brings in `training/<model>/commands.py`,
grouped by verb: `playserve train <model>`."""

from __future__ import annotations

import sys

import typer

from playserve import catalog, delivery_commands, platform_commands

app = typer.Typer(help="playserve: train, register, serve and measure the models of live games.", no_args_is_help=True)
VERB_HELP = {
    "data": "Generate synthetic data sets.",
    "train": "Train a model, gate it against baselines, register it.",
    "predict": "Score tables, images or videos with a registered model.",
    "serve": "Serve a model over HTTP on 127.0.0.1.",
    "report": "Reports a model makes from a whole input (a session video).",
}


def assemble() -> None:
    verbs = {verb: typer.Typer(help=text, no_args_is_help=True) for verb, text in VERB_HELP.items()}
    for name in catalog.names():
        for verb, command in catalog.commands(name).items():
            verbs[verb].command(name)(command)
        for command_name, command in catalog.extra_commands(name).items():
            app.command(command_name)(command)
    for verb, group in verbs.items():
        if group.registered_commands:
            app.add_typer(group, name=verb)
    for module in (platform_commands, delivery_commands):
        app.registered_commands += module.app.registered_commands
        app.registered_groups += module.app.registered_groups


assemble()


def main() -> None:  # pragma: no cover - console script entry point
    sys.exit(app())


if __name__ == "__main__":  # python -m playserve.cli: the same CLI from a checkout without the console script
    main()
