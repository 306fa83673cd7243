"""The Dockerfile read as data: its instructions, its final stage's environment and commands."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ENV, ...
    arguments: str  # the rest of the instruction, continuation lines joined


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    found: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return found


def final_stage(all_instructions: list[Instruction]) -> list[Instruction]:
    """The instructions of the last stage, the one the image is."""
    starts = [i for i, instruction in enumerate(all_instructions) if instruction.keyword == "FROM"]
    return all_instructions[starts[-1] :]


def arguments_of(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.arguments for i in stage if i.keyword == keyword]


def environment(stage: list[Instruction]) -> dict[str, str]:
    """The ENV of a stage as written (``$NAME`` references left unexpanded)."""
    env: dict[str, str] = {}
    for arguments in arguments_of(stage, "ENV"):
        for pair in shlex.split(arguments):
            name, _, value = pair.partition("=")
            env[name] = value
    return env


def exec_form(arguments: str) -> list[str]:
    """A JSON-array command (exec form); a shell-form string raises ValueError."""
    command = json.loads(arguments)
    if not isinstance(command, list) or not all(isinstance(word, str) for word in command):
        raise ValueError(f"not an exec-form command: {arguments}")
    return command


def command(stage: list[Instruction]) -> list[str]:
    (cmd,) = arguments_of(stage, "CMD")
    return exec_form(cmd)


def healthcheck_command(stage: list[Instruction]) -> list[str]:
    (healthcheck,) = arguments_of(stage, "HEALTHCHECK")
    _options, _, cmd = healthcheck.partition(" CMD ")
    return exec_form(cmd)
