"""factory_boy factories for accounts, and a helper to grow a team through the services."""

import factory
from allauth.account.models import EmailAddress
from factory.django import DjangoModelFactory

from accounts import services
from accounts.models import Business, Membership, User


class UserFactory(DjangoModelFactory):
    """A user with a verified primary e-mail (as allauth requires to sign in).

    No password is set, so no slow hashing: tests sign in with ``client.force_login``.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    # English, so assertions read the messages as written in the code.
    language = "en"

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class BusinessFactory(DjangoModelFactory):
    """A business row with no members; see :func:`create_business` for an owned one."""

    class Meta:
        model = Business

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    city = "São Paulo"
    category = Business.Category.RETAIL


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    business = factory.SubFactory(BusinessFactory)
    role = Membership.Role.AGENT


def create_business(*, owner: User | None = None, name: str = "", slug: str = "", **profile):
    """An owned business, made the way a merchant makes one."""
    owner = owner or UserFactory()
    n = Business.objects.count() + 1
    return services.create_business(user=owner, name=name or f"Business {n}", slug=slug, **profile)


def join(*, business: Business, role: str, user: User | None = None) -> Membership:
    """``user`` (a new one by default) joins ``business`` as ``role`` through an
    owner's invitation, as in the product."""
    user = user or UserFactory()
    owner = business.memberships.filter(role=Membership.Role.OWNER).first().user
    _invitation, key = services.invite_member(
        actor=owner, business=business, email=user.email, role=role
    )
    return services.accept_invitation(user=user, key=key)
