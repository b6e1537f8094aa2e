from django.conf import settings


def site(request):
    return {"SITE_NAME": "Conversa", "SITE_URL": settings.SITE_URL}
