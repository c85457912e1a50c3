"""Settings, built once at the entry point and passed down.

Precedence: command-line flags > environment variables (``USERPULSE_<NAME>``) > a settings file
(``userpulse.env`` in the working directory, or the file named by ``USERPULSE_SETTINGS_FILE``).
Library code never reads ``os.environ``; it receives a :class:`Settings`. Nothing is read at import:
the environment and the settings file are read when a :class:`Settings` is built.

No default depends on where the package is installed: paths default to the working directory
(``./.userpulse`` for the home folder, ``./infra/lib`` for the jars, ``.`` as the source checkout
the local stack builds from), which is the checkout when run through ``make`` or from its root;
set ``USERPULSE_HOME`` etc. to run from elsewhere. Relative paths are made absolute when the
settings are built.

The fields are grouped by component in :mod:`userpulse.config` (Redis, lookup, Kafka, job,
cluster); :class:`Settings` is all of them plus the local stack's paths.

Unknown ``USERPULSE_`` keys in the settings file are rejected (``extra="forbid"``) so that a typo
fails at start with the name of the setting to fix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from userpulse.config import ClusterSettings, JobSettings, KafkaSettings, LookupSettings
from userpulse.config.base import SETTINGS_FILE, absolute, cwd

__all__ = ["SETTINGS_FILE", "Settings"]


class Settings(LookupSettings, KafkaSettings, JobSettings, ClusterSettings):
    """All runtime settings of userpulse: every component's (:mod:`userpulse.config`) and the
    local stack's paths.

    Every field can be set by the environment variable ``USERPULSE_<FIELD_NAME_UPPER>``.
    Units are in the names (``_ms``, ``_s``). Times are UTC epoch milliseconds.
    """

    # --- local stack -------------------------------------------------------------------------
    checkout_dir: Path = Field(
        default_factory=cwd,
        description="The source checkout the local stack builds the jars from (infra/pom.xml, "
        "jvm/) and reads the broker's config templates from (infra/kafka/); default: the working "
        "directory.",
    )
    replay_data_dir: Path | None = Field(
        default=None,
        description="Folder of the recorded logs the replay producer, the demo and the backfill "
        "read (ebnerd-sample/, globo-news-clicks/, otto-recsys-sample/); no default: "
        "`--data-dir` or this setting (make sets it to ../shared/data/real).",
    )
    infra_lib: Path = Field(
        default_factory=lambda: cwd("infra", "lib"),
        description="Where `make deps` (mvn -f infra/pom.xml package) puts the jars (default: "
        "./infra/lib in the working directory).",
    )

    @field_validator("checkout_dir", "infra_lib", "replay_data_dir")
    @classmethod
    def _absolute(cls, v: Path | None) -> Path | None:
        return absolute(v)
