"""WSGI entry point: ``gunicorn tutorial.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tutorial.settings")
application = get_wsgi_application()
