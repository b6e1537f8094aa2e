import pytest

from accounts.models import Business
from catalog import services
from catalog.tests.factories import make_product
from core.errors import AppError

pytestmark = pytest.mark.django_db


def test_take_stock_counts_down_once_and_leaves_unlimited_alone(owner, business):
    counted = make_product(owner, business, stock=5)
    unlimited = make_product(owner, business, stock=None)
    before = Business.objects.get(pk=business.pk).catalog_version

    services.take_stock(business_id=business.pk, quantities={counted.pk: 2, unlimited.pk: 9})

    counted.refresh_from_db()
    unlimited.refresh_from_db()
    assert (counted.stock, unlimited.stock) == (3, None)
    assert Business.objects.get(pk=business.pk).catalog_version == before + 1


def test_take_stock_refuses_more_than_there_is_and_changes_nothing(owner, business, other):
    scarce = make_product(owner, business, stock=1)
    theirs = make_product(other.owner, other.business, stock=10)
    with pytest.raises(AppError) as exc:
        services.take_stock(business_id=business.pk, quantities={scarce.pk: 2})
    assert exc.value.code == "out_of_stock"
    # Another business's product is never touched.
    services.take_stock(business_id=business.pk, quantities={theirs.pk: 3})
    theirs.refresh_from_db()
    assert theirs.stock == 10
