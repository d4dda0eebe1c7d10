"""WSGI entry point (gunicorn t2site.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "t2site.settings")
application = get_wsgi_application()
