"""OpenAPI (drf-spectacular) extensions for the project's own authentication classes.

Imported from ``config.urls`` so the extension is registered before any schema is built.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token: `Authorization: Bearer cv_…`.",
        }
