"""Reads of privacy requests, scoped to who asks ("not found" alike for missing and
forbidden)."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Business, Membership, User
from chats.models import Contact
from core.ids import parse_int
from privacy.models import PrivacyRequest

KIND = PrivacyRequest.Kind


def list_own_requests(*, user: User) -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.filter(actor=user, subject=user, business__isnull=True)


def latest_export(*, user: User) -> PrivacyRequest | None:
    return list_own_requests(user=user).filter(kind=KIND.EXPORT).first()


def get_export_for(*, user: User, request_id, business: Business | None = None) -> PrivacyRequest:
    """An export ``user`` asked for (their own, or a contact's in ``business``)."""
    pk = parse_int(request_id)
    qs = PrivacyRequest.objects.filter(actor=user, business=business)
    qs = qs.filter(kind=KIND.EXPORT if business is None else KIND.CONTACT_EXPORT)
    request = qs.filter(pk=pk).first() if pk is not None else None
    if request is None or not user.is_authenticated or not user.is_active:
        raise Http404("No such export.")
    return request


def get_contact_for(*, business: Business, contact_id) -> Contact:
    """A contact of ``business`` (the caller checked the role with
    ``accounts.selectors.get_business_for``)."""
    pk = parse_int(contact_id)
    contact = (
        Contact.objects.filter(business=business, pk=pk).select_related("user").first()
        if pk is not None
        else None
    )
    if contact is None:
        raise Http404("No such contact.")
    return contact


def list_business_audit(*, business: Business) -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.filter(business=business).select_related("actor")


ADMIN_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)
