"""The one error type for expected failures.

Services raise :class:`AppError` with a stable ``code`` and a translatable
message. Views turn it into a form error or a flash message; the API's exception
handler turns it into a 400 (or the status given). Anything else is a bug.
"""

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy


class AppError(Exception):
    status_code = 400

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str,
        field: str | None = None,
        status_code: int | None = None,
    ):
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.field = field
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return str(self.message)


def add_form_error(form, exc: AppError) -> None:
    """Show ``exc`` on the form field it names, or above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


def validation_to_app_error(exc: ValidationError) -> AppError:
    """A model's ``full_clean()`` failure as the one error type: its first message,
    on its field when it names one."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        return AppError(errors[0].messages[0], code="invalid", field=field)
    return AppError(exc.messages[0], code="invalid")


def forbidden() -> AppError:
    """What a user who may see a thing but not do this to it is told (403): a member
    below the role an action needs, a customer at a merchant's action. Someone who
    may not see the thing at all gets "not found" from its selector instead."""
    return AppError(
        gettext_lazy("You do not have permission to do that."), code="forbidden", status_code=403
    )
