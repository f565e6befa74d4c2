"""Config: ``.env``, ``config/*.py``, ``config/<APP_ENV>/*.py``, ``SWOOP_*`` variables.

Merged into one frozen :class:`Config` read with dotted, typed keys; see docs/config.md.
"""

from __future__ import annotations

from framework.config.convert import ConfigError, convert
from framework.config.loader import env, load_config
from framework.config.settings import MISSING, Config

__all__ = ["MISSING", "Config", "ConfigError", "convert", "env", "load_config"]
