"""Configuration of the tutorial app, read from the environment (and .env, via python-dotenv).

Every ``CRYPTR_*`` variable is handed to cryptr_guard as the text it is: the core reads and
checks each one at start-up (``cryptr_guard.SETTINGS`` lists them), and a value it cannot use
stops the app with a ``SettingError`` naming the variable.
"""

import os

from dotenv import load_dotenv

load_dotenv()

CRYPTR_BASE_URL = os.environ.get("CRYPTR_BASE_URL", "https://auth.cryptr.eu")
CRYPTR_TENANT_DOMAIN = os.environ.get("CRYPTR_TENANT_DOMAIN", "shark-academy")
CRYPTR_AUDIENCE = os.environ.get("CRYPTR_AUDIENCE", "http://localhost:8081")

# The other settings (CRYPTR_CLIENT_IDS, CRYPTR_LEEWAY, CRYPTR_ALLOW_HTTP, ...), as set.
globals().update({name: value for name, value in os.environ.items() if name.startswith("CRYPTR_")})
