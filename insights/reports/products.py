"""The Products report: what sold, and how often each product was asked about in
chats against how often it was bought (docs/insights.md, "Reports").

Sums of the period's ``DailyFigure`` rows of dim "product" (one query, whatever the
period), and the products' names (one query for the page):

- **asked about**: conversations that started in the period from that product's card
  ("Ask about this product"); **chats that bought**: those of them that led to a paid
  order within the attribution window; **conversion** = chats that bought / asked about;
- **orders**: orders paid in the period with a line of that product; **units sold**:
  the quantity on those lines; **gross**: the lines' totals; **fee** and **refunds**:
  the order's, shared out pro rata to its lines' totals; **net** = gross − fee − refunds;
- the key "" is what no product card opened (chats) and lines with a free amount.

Sorted by net revenue, then units, then chats asked about (then the name); a page of
``PAGE_SIZE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import Business
from catalog.models import Product
from insights.charts import Chart, Series
from insights.models import DailyFigure
from insights.reports.common import Cell, Table, Totals, by_key, percent

PAGE_SIZE = 50


@dataclass
class ProductRow:
    key: str  # the product id as text, "" for none
    label: str
    figures: Totals
    product: Product | None = None

    @property
    def asked(self) -> int:
        return self.figures.conversations

    @property
    def conversion(self) -> Decimal | None:
        return percent(self.figures.bought, self.figures.conversations)


@dataclass
class ProductsPage:
    rows: list[ProductRow]
    total: Totals
    asked: int  # chats opened from a product card (of any product)
    page: int
    has_next: bool
    count: int


def _order(row: ProductRow):
    f = row.figures
    return (-f.net, -f.units, -f.conversations, row.key == "", row.label, row.key)


def products_report(
    *, business: Business, period, page: int = 1, size: int | None = PAGE_SIZE
) -> ProductsPage:
    """The period's products, a page of ``size`` (None: all, for the CSV); two queries."""
    sums = by_key(business, period, DailyFigure.Dim.PRODUCT)
    ids = [int(key) for key in sums if key.isascii() and key.isdigit()]
    products = {
        str(p.pk): p
        for p in Product.objects.filter(business=business, pk__in=ids).only("pk", "name")
    }
    total = Totals()
    rows = []
    for key, figures in sums.items():
        total.add(figures)
        product = products.get(key)
        if product is not None:
            label = product.name
        else:
            label = _("No product card, or a free amount") if key == "" else _("Deleted product")
        rows.append(ProductRow(key=key, label=label, figures=figures, product=product))
    rows.sort(key=_order)
    asked = total.conversations - (sums[""].conversations if "" in sums else 0)
    if size is None:
        return ProductsPage(
            rows=rows, total=total, asked=asked, page=1, has_next=False, count=len(rows)
        )
    start = (page - 1) * size
    return ProductsPage(
        rows=rows[start : start + size], total=total, asked=asked, page=page,
        has_next=len(rows) > start + size, count=len(rows),
    )  # fmt: skip


# --- The page ---------------------------------------------------------------------------

TOP = 10  # bars in the charts


def products_table(business: Business, rows: list[ProductRow], *, link=None) -> Table:
    """The products' table (the page's, and the CSV's with every row). ``link(**filters)``
    gives the drill-down URL."""
    currency = business.currency
    table = Table(
        "products", _("Products"),
        [_("Product"), _("Asked about"), _("Chats that bought"), _("Conversion"), _("Orders"),
         _("Units sold"), _("Gross"), _("Fees"), _("Refunds"), _("Net revenue")],
        empty=_("No product was asked about or sold in this period."),
    )  # fmt: skip
    for row in rows:
        f = row.figures

        def to(row=row, **filters):
            return link(dim="product", key=row.key, **filters) if link else None

        table.rows.append([
            Cell(row.label, "text"), Cell(f.conversations, link=to() if f.conversations else None),
            Cell(f.bought, link=to(outcome="bought") if f.bought else None),
            Cell(row.conversion, "percent"), Cell(f.paid), Cell(f.units),
            Cell(f.gross, "money", currency=currency), Cell(f.fee, "money", currency=currency),
            Cell(f.refunds, "money", currency=currency), Cell(f.net, "money", currency=currency),
        ])  # fmt: skip
    return table


def products_charts(business: Business, rows: list[ProductRow], *, link=None) -> list[Chart]:
    """Net revenue of the top products, and the most asked about: asked against bought."""
    top = [row for row in rows if row.key][:TOP]
    asked = sorted((row for row in rows if row.key and row.asked), key=lambda r: -r.asked)[:TOP]

    def to(row, **filters):
        return link(dim="product", key=row.key, **filters) if link else None

    return [
        Chart(
            id="products-revenue", kind="hbar", title=_("Net revenue by product"),
            label_header=_("Product"), labels=[row.label for row in top],
            currency=business.currency,
            series=[Series(name=_("Net revenue"), values=[r.figures.net for r in top],
                           format="money")],
        ),
        Chart(
            id="products-asked", kind="hbar", title=_("Asked about in chats against bought"),
            label_header=_("Product"), labels=[row.label for row in asked],
            series=[
                Series(name=_("Asked about"), values=[r.asked for r in asked],
                       links=[to(r) for r in asked]),
                Series(name=_("Chats that bought"), values=[r.figures.bought for r in asked],
                       links=[to(r, outcome="bought") for r in asked]),
            ],
        ),
    ]  # fmt: skip
