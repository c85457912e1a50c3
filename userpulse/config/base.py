"""The common base of the settings classes: where values come from, and the home folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SETTINGS_FILE = "userpulse.env"
"""The settings file read unless ``USERPULSE_SETTINGS_FILE`` names another (or ``_env_file=``)."""


def cwd(*parts: str) -> Path:
    """``parts`` below the working directory (the default of the path settings)."""
    return Path.cwd().joinpath(*parts)


def absolute(v: Path | None) -> Path | None:
    """A path setting made absolute against the working directory when the settings are built
    (not wherever a later step runs); ``~`` expanded; None stays None."""
    return None if v is None else v.expanduser().absolute()


class ComponentSettings(BaseSettings):
    """Base of every settings class: ``USERPULSE_<FIELD>`` variables, the settings file, unknown
    keys rejected, and ``home`` (the project-owned folder every component may keep files in)."""

    model_config = SettingsConfigDict(
        env_prefix="USERPULSE_",
        env_file=SETTINGS_FILE,
        extra="forbid",
    )

    def __init__(self, **values: Any) -> None:
        """Build the settings from ``values`` (field names; also pydantic-settings' ``_env_file``),
        the environment and the settings file (``USERPULSE_SETTINGS_FILE``, read now, not at
        import).

        Raises:
            pydantic.ValidationError: a value that does not validate (names the setting).
        """
        if "_env_file" not in values and "USERPULSE_SETTINGS_FILE" in os.environ:
            values["_env_file"] = os.environ["USERPULSE_SETTINGS_FILE"]
        super().__init__(**values)

    home: Path = Field(
        default_factory=lambda: cwd(".userpulse"),
        description="Project-owned folder for broker/redis data, logs and pid files "
        "(default: ./.userpulse in the working directory, never inside the installed package).",
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, v: Path) -> Path | None:
        return absolute(v)
