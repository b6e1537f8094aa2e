import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from insights.services.touches import flush_in_background  # noqa: E402

flush_in_background()  # the embedded default's buffered clicks (config.asgi says why)
