"""REST endpoints for campaigns, their spend lines and tracked links, and the
attribution window. Thin: parse, authorize through the selectors, call one service,
serialize.

Scoped like the pages (``insights/views.py``): everything hangs under
``businesses/<slug>/``, the business is loaded with
:func:`accounts.selectors.get_business_for` at the role the operation needs — every
member reads the campaigns and their counts; owners and admins see the money (it is
``null`` for agents) and make every change (agents, outsiders and other businesses'
members get 404 there, as on the pages) — then each campaign through
:func:`insights.selectors.get_campaign_for`, so another business's campaign id is a
404 like a missing one. The figures are the list page's, from the same selectors.
"""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Business, Membership
from accounts.selectors import get_business_for
from catalog.selectors import active_products
from core.api import input_data, query_data
from core.errors import AppError
from insights import links, selectors
from insights.models import Campaign
from insights.serializers import (
    CampaignDetailSerializer,
    CampaignFilterSerializer,
    CampaignInputSerializer,
    CampaignListSerializer,
    LinkFilterSerializer,
    LinkSerializer,
    MergeInputSerializer,
    PeriodFilterSerializer,
    RenameInputSerializer,
    SpendImportInputSerializer,
    SpendImportResultSerializer,
    SpendLineInputSerializer,
    SpendLineSerializer,
    WindowSerializer,
)
from insights.services import campaigns as campaign_services
from insights.services import spend
from insights.services.touches import flush

ROLE = Membership.Role
CAMPAIGNS = ["insights (campaigns)"]
SPEND = ["insights (spend)"]
DELETED = {204: OpenApiResponse(description=gettext_lazy("Deleted."))}
EDITABLE = (
    "name", "channel", "code", "starts_on", "ends_on", "cost_mode", "total_cost",
    "utm_source", "utm_medium", "link_text",
)  # fmt: skip


def _business(request, slug, min_role=ROLE.AGENT) -> Business:
    return get_business_for(user=request.user, slug=slug, min_role=min_role)


def _campaign(business, campaign_id) -> Campaign:
    return selectors.get_campaign_for(business=business, campaign_id=campaign_id)


def _period(business, params) -> selectors.Period:
    if params.get("start") is None:
        return selectors.last_days(business)
    return selectors.Period(params["start"], params["end"], business.tz)


def _figures(figures: selectors.Figures, money: bool) -> dict:
    out = {
        "clicks": figures.clicks, "visitors": figures.visitors,
        "conversations": figures.conversations, "payment_requests": figures.payment_requests,
        "paid": figures.paid,
    }  # fmt: skip
    for name in (
        "gross", "fee", "refunds", "net", "cost", "cost_per_conversation",
        "cost_per_purchase", "roas", "roi",
    ):  # fmt: skip
        out[name] = getattr(figures, name) if money else None
    return out


CAMPAIGN_FIELDS = (
    "id", "name", "code", "channel", "starts_on", "ends_on", "cost_mode", "currency",
    "utm_source", "utm_medium", "link_text", "is_automatic", "archived_at", "merged_into_id",
    "created_at",
)  # fmt: skip


def _row(campaign: Campaign, figures: selectors.Figures, money: bool) -> dict:
    """A campaign and its figures, as values for CampaignRowSerializer."""
    return {name: getattr(campaign, name) for name in CAMPAIGN_FIELDS} | {
        "total_cost": campaign.total_cost if money else None,
        "figures": _figures(figures, money),
    }


def _campaign_out(request, business, campaign, *, status_code=status.HTTP_200_OK) -> Response:
    """The campaign as the detail answers it, for the default period."""
    return _detail(request, business, campaign, {"model": "last"}, status_code=status_code)


# --- Campaigns --------------------------------------------------------------------------


class CampaignListView(APIView):
    @extend_schema(
        tags=CAMPAIGNS,
        summary="List the campaigns with their figures (agent+)",
        operation_id="v1_businesses_campaigns_list",
        description=(
            "The list page's campaigns and figures for the period (`start`..`end`, both "
            "included, in the business's time zone; the last 28 days when left out), with "
            "each paid order credited to its `first` or `last` touch. Automatic campaigns "
            "come last; `archived=true` lists the archived ones; merged automatic campaigns "
            "are in neither. Money fields are null for agents."
        ),
        parameters=[CampaignFilterSerializer],
        responses=CampaignListSerializer,
    )
    def get(self, request, slug):
        business = _business(request, slug)
        params = query_data(request, CampaignFilterSerializer)
        flush()
        period = _period(business, params)
        rows = list(selectors.list_campaigns(business=business, archived=params["archived"]))
        figures = selectors.campaign_figures(
            business=business, campaigns=rows, period=period, model=params["model"]
        )
        money = selectors.sees_money(business)
        body = {
            "start": period.first,
            "end": period.last,
            "model": params["model"],
            "results": [_row(c, figures[c.pk], money) for c in rows],
        }
        return Response(CampaignListSerializer(body).data)

    @extend_schema(
        tags=CAMPAIGNS,
        summary="Create a campaign (admin+)",
        description=(
            "`code` left out: made from the name. 400 `code_taken`, `markup`, "
            "`invalid_code`, `reserved_code`, `ends_before_start`, `money_too_large`, ..."
        ),
        request=CampaignInputSerializer,
        responses={201: CampaignDetailSerializer},
    )
    def post(self, request, slug):
        business = _business(request, slug, ROLE.ADMIN)
        data = input_data(request, CampaignInputSerializer)
        campaign = campaign_services.create_campaign(actor=request.user, business=business, **data)
        return _campaign_out(request, business, campaign, status_code=status.HTTP_201_CREATED)


FUNNEL_STEPS = ("clicks", "conversations", "payment_requests", "paid", "repeat")


def _funnel_labels() -> list[str]:
    return [
        _("Clicks"), _("Conversations"), _("Payment requests"), _("Paid orders"),
        _("Bought again within 90 days"),
    ]  # fmt: skip


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path)


def _links(request, business, campaign, product=None) -> list[dict]:
    """The campaign's tracked links (none for an automatic campaign, as on its page),
    with their QR codes and A6 card (the dashboard's own pages)."""
    if campaign.is_automatic:
        return []
    rows = [
        ("chat", _("Click-to-chat link"), links.chat_link(campaign), None),
        ("shop", _("Shop link"), links.shop_link(campaign), None),
    ]
    if product is not None:
        rows.append(
            (
                "product",
                _("Product link: %(name)s") % {"name": product.name},
                links.product_link(campaign, product),
                product.pk,
            )
        )
    qr = reverse("campaign_qr", args=[business.slug, campaign.pk])
    card = reverse("campaign_card", args=[business.slug, campaign.pk])
    out = []
    for kind, label, url, product_id in rows:
        query = f"link={kind}" + (f"&product={product_id}" if product_id else "")
        fits = len(url) <= links.QR_MAX_CHARS
        out.append(
            {
                "kind": kind, "label": label, "url": url, "product_id": product_id,
                "qr_png": _absolute(request, f"{qr}?{query}&format=png") if fits else None,
                "qr_svg": _absolute(request, f"{qr}?{query}&format=svg") if fits else None,
                "card": _absolute(request, f"{card}?{query}") if fits else None,
            }
        )  # fmt: skip
    return out


def _order(attribution, money: bool) -> dict:
    return {
        "order_id": attribution.order_id, "number": attribution.order.number,
        "paid_at": attribution.paid_at, "gross": attribution.gross if money else None,
        "currency": attribution.currency,
    }  # fmt: skip


def _order(attribution, money: bool) -> dict:
    return {
        "order_id": attribution.order_id, "number": attribution.order.number,
        "paid_at": attribution.paid_at, "gross": attribution.gross if money else None,
        "currency": attribution.currency,
    }  # fmt: skip


def _detail(request, business, campaign, params, *, status_code=status.HTTP_200_OK) -> Response:
    flush()
    period = _period(business, params)
    model = params["model"]
    money = selectors.sees_money(business)
    figures = selectors.campaign_detail(
        business=business, campaign=campaign, period=period, model=model
    )
    steps = selectors.funnel(figures, _funnel_labels())
    conversations = selectors.list_campaign_conversations(
        business=business, campaign=campaign, period=period
    )
    orders = selectors.list_campaign_orders(
        business=business, campaign=campaign, period=period, model=model
    )
    body = _row(campaign, figures, money) | {
        "start": period.first,
        "end": period.last,
        "model": model,
        "funnel": [
            {"step": key, "label": step.label, "count": step.count, "drop": step.drop}
            for key, step in zip(FUNNEL_STEPS, steps, strict=True)
        ],
        "links": _links(request, business, campaign),
        "conversations": [
            {
                "conversation_id": t.conversation_id,
                "customer": t.conversation.contact.user.get_short_name()
                if t.conversation.contact_id
                else "",
                "started_at": t.occurred_at,
            }
            for t in conversations
        ],
        "orders": [_order(a, money) for a in orders],
    }
    return Response(CampaignDetailSerializer(body).data, status=status_code)


class CampaignDetailView(APIView):
    @extend_schema(
        tags=CAMPAIGNS,
        summary="A campaign with its figures, funnel and links (agent+)",
        description=(
            "The campaign page: the figures for the period (as the list's), the funnel "
            "(clicks → conversations → payment requests → paid → bought again within 90 "
            "days) with the drop-off between steps, the tracked links, and the conversations "
            "and paid orders of the period (50 each, newest first). Money is null for agents."
        ),
        parameters=[PeriodFilterSerializer],
        responses=CampaignDetailSerializer,
    )
    def get(self, request, slug, campaign_id):
        business = _business(request, slug)
        campaign = _campaign(business, campaign_id)
        params = query_data(request, PeriodFilterSerializer)
        return _detail(request, business, campaign, params)

    @extend_schema(
        tags=CAMPAIGNS,
        summary="Change a campaign (admin+)",
        description=(
            "Only the fields sent change. Not an automatic campaign (400 "
            "`automatic_campaign`: rename or merge it); the code only while none of its "
            "links has been used (400 `code_in_use`)."
        ),
        request=CampaignInputSerializer(partial=True),
        responses=CampaignDetailSerializer,
    )
    def patch(self, request, slug, campaign_id):
        business = _business(request, slug, ROLE.ADMIN)
        campaign = _campaign(business, campaign_id)
        data = input_data(request, CampaignInputSerializer, partial=True)
        fields = {name: getattr(campaign, name) for name in EDITABLE} | data
        campaign_services.update_campaign(actor=request.user, campaign=campaign, **fields)
        return _campaign_out(request, business, campaign)


class CampaignArchiveView(APIView):
    archived = True

    @extend_schema(
        tags=CAMPAIGNS,
        summary="Archive a campaign (admin+)",
        description="It leaves the list; its links keep counting and its figures stay.",
        request=None,
        responses=CampaignDetailSerializer,
    )
    def post(self, request, slug, campaign_id):
        business = _business(request, slug, ROLE.ADMIN)
        campaign = _campaign(business, campaign_id)
        campaign_services.archive_campaign(
            actor=request.user, campaign=campaign, archived=self.archived
        )
        return _campaign_out(request, business, campaign)


class CampaignUnarchiveView(CampaignArchiveView):
    archived = False

    @extend_schema(
        tags=CAMPAIGNS,
        summary="Bring an archived campaign back (admin+)",
        description="Not a merged automatic campaign (400 `merged_campaign`).",
        request=None,
        responses=CampaignDetailSerializer,
    )
    def post(self, request, slug, campaign_id):
        return super().post(request, slug, campaign_id)


class CampaignRenameView(APIView):
    @extend_schema(
        tags=CAMPAIGNS,
        summary="Rename a campaign (admin+)",
        description="The one change an automatic campaign takes besides a merge.",
        request=RenameInputSerializer,
        responses=CampaignDetailSerializer,
    )
    def post(self, request, slug, campaign_id):
        business = _business(request, slug, ROLE.ADMIN)
        campaign = _campaign(business, campaign_id)
        data = input_data(request, RenameInputSerializer)
        campaign_services.rename_campaign(actor=request.user, campaign=campaign, name=data["name"])
        return _campaign_out(request, business, campaign)


class CampaignMergeView(APIView):
    @extend_schema(
        tags=CAMPAIGNS,
        summary="Merge an automatic campaign into one of yours (admin+)",
        description=(
            "Its touches and the orders credited to it move to `into`, and later touches "
            "with its source, medium and campaign go there too. It stays, archived, with "
            "`merged_into_id` set. Answers the campaign merged into. 400 `not_automatic`, "
            "`invalid_target`; 404 when `into` is not a campaign of this business."
        ),
        request=MergeInputSerializer,
        responses=CampaignDetailSerializer,
    )
    def post(self, request, slug, campaign_id):
        business = _business(request, slug, ROLE.ADMIN)
        campaign = _campaign(business, campaign_id)
        data = input_data(request, MergeInputSerializer)
        into = _campaign(business, data["into"])
        campaign_services.merge_campaign(actor=request.user, campaign=campaign, into=into)
        return _campaign_out(request, business, into)


class CampaignLinksView(APIView):
    @extend_schema(
        tags=CAMPAIGNS,
        summary="A campaign's tracked links and QR codes (agent+)",
        description=(
            "The click-to-chat link (with the prefilled message), the shop link and, with "
            "`product`, that product's link; each carries the campaign's code and utm_*. "
            "The QR code (PNG, SVG) and A6 card URLs are the dashboard's pages (signed in); "
            "null when the link is too long for a QR code. An automatic campaign has none. "
            "400 `invalid_product` when `product` is not on sale in this shop."
        ),
        parameters=[LinkFilterSerializer],
        responses=LinkSerializer(many=True),
    )
    def get(self, request, slug, campaign_id):
        business = _business(request, slug)
        campaign = _campaign(business, campaign_id)
        params = query_data(request, LinkFilterSerializer)
        product = None
        if "product" in params:
            product = active_products(business=business).filter(pk=params["product"]).first()
            if product is None:
                raise AppError(
                    _("No product on sale in this shop has that id."),
                    code="invalid_product",
                    field="product",
                )
        return Response(
            LinkSerializer(_links(request, business, campaign, product), many=True).data
        )


# --- Spend lines ------------------------------------------------------------------------


def _spend_campaign(request, slug, campaign_id) -> Campaign:
    business = _business(request, slug, ROLE.ADMIN)
    return _campaign(business, campaign_id)


class SpendLineListView(APIView):
    @extend_schema(
        tags=SPEND,
        summary="A campaign's daily spend lines (admin+)",
        description="Newest day first.",
        responses=SpendLineSerializer(many=True),
    )
    def get(self, request, slug, campaign_id):
        campaign = _spend_campaign(request, slug, campaign_id)
        lines = selectors.list_spend_lines(campaign=campaign)
        return Response(SpendLineSerializer(lines, many=True).data)

    @extend_schema(
        tags=SPEND,
        summary="Add a day's spend (admin+)",
        description=(
            "One line a day (400 `day_taken`: change it instead). Counted when the "
            "campaign's cost is `daily`. Not for an automatic campaign."
        ),
        request=SpendLineInputSerializer,
        responses={201: SpendLineSerializer},
    )
    def post(self, request, slug, campaign_id):
        campaign = _spend_campaign(request, slug, campaign_id)
        data = input_data(request, SpendLineInputSerializer)
        line = spend.add_spend_line(actor=request.user, campaign=campaign, **data)
        return Response(SpendLineSerializer(line).data, status=status.HTTP_201_CREATED)


class SpendLineDetailView(APIView):
    @extend_schema(
        tags=SPEND,
        summary="Change a spend line (admin+)",
        description="Only the fields sent change; the line counts as entered by hand.",
        request=SpendLineInputSerializer(partial=True),
        responses=SpendLineSerializer,
    )
    def patch(self, request, slug, campaign_id, line_id):
        campaign = _spend_campaign(request, slug, campaign_id)
        line = selectors.get_spend_line(campaign=campaign, line_id=line_id)
        data = input_data(request, SpendLineInputSerializer, partial=True)
        line = spend.update_spend_line(
            actor=request.user, line=line, day=data.get("day", line.day),
            amount=data.get("amount", line.amount),
        )  # fmt: skip
        return Response(SpendLineSerializer(line).data)

    @extend_schema(tags=SPEND, summary="Delete a spend line (admin+)", responses=DELETED)
    def delete(self, request, slug, campaign_id, line_id):
        campaign = _spend_campaign(request, slug, campaign_id)
        line = selectors.get_spend_line(campaign=campaign, line_id=line_id)
        spend.delete_spend_line(actor=request.user, line=line)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SpendImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=SPEND,
        summary="Import daily spend from a CSV file (admin+)",
        description=(
            "Multipart: the file under `file`, and how its amounts are written under "
            "`numbers`. Campaigns are matched by name or code; an imported day replaces "
            "that day's line. All or nothing: a bad file or any bad line is a 400 that "
            "saves nothing; with bad lines (`bad_lines`) its body also lists them, "
            "`problems`: [{`line`, `reason`}] (the first 200) and `more` (how many were "
            "left out). Other codes: `file_encoding` (not UTF-8), `file_too_large`, "
            "`file_empty`, `no_header`, `too_many_lines`, `wrong_currency`."
        ),
        request={"multipart/form-data": SpendImportInputSerializer},
        responses={201: SpendImportResultSerializer},
    )
    def post(self, request, slug):
        business = _business(request, slug, ROLE.ADMIN)
        data = input_data(request, SpendImportInputSerializer)
        content = data["file"].read(spend.MAX_BYTES + 1)
        try:
            result = spend.import_spend_csv(
                actor=request.user, business=business, data=content,
                language=data.get("numbers"),
            )  # fmt: skip
        except spend.SpendImportError as exc:
            return Response(
                {
                    "code": exc.code,
                    "detail": str(exc.message),
                    "field": exc.field,
                    "problems": [
                        {"line": number, "reason": str(reason)} for number, reason in exc.problems
                    ],
                    "more": exc.more,
                },
                status=exc.status_code,
            )
        return Response(
            SpendImportResultSerializer(
                {
                    "lines": result.lines,
                    "campaigns": result.campaigns,
                    "total": result.total,
                    "currency": business.currency,
                }
            ).data,
            status=status.HTTP_201_CREATED,
        )


# --- The attribution window -------------------------------------------------------------


class AttributionWindowView(APIView):
    @extend_schema(
        tags=CAMPAIGNS,
        summary="The attribution window (admin+)",
        responses=WindowSerializer,
    )
    def get(self, request, slug):
        business = _business(request, slug, ROLE.ADMIN)
        return Response({"window_days": selectors.attribution_window(business=business)})

    @extend_schema(
        tags=CAMPAIGNS,
        summary="Set the attribution window (admin+)",
        description="1, 7 or 28 days. Orders already paid keep the window they were credited with.",
        request=WindowSerializer,
        responses=WindowSerializer,
    )
    def put(self, request, slug):
        business = _business(request, slug, ROLE.ADMIN)
        data = input_data(request, WindowSerializer)
        row = campaign_services.set_attribution_window(
            actor=request.user, business=business, window_days=data["window_days"]
        )
        return Response({"window_days": row.window_days})
