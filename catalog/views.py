"""Catalog pages: the public shop and product pages, and the merchant's catalog
dashboard. Thin: parse, authorize through a selector, call one service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import (
    get_business_for,
    get_public_business,
    get_public_business_state,
    public_version,
)
from accounts.views import profile_context, render_dashboard
from catalog import feed, hooks, selectors, services
from catalog.forms import (
    CollectionForm,
    PhotoAltForm,
    PhotoUploadForm,
    ProductFilterForm,
    ProductForm,
)
from core import pagecache
from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from core.http import next_url
from core.money import from_minor

# --- Public -----------------------------------------------------------------------


def _cached_fragment(business, name: str, render_fragment, *parts):
    """``render_fragment()``'s result (HTML, or a dict of HTML), cached in the
    process's ``fragments`` cache under a key that changes whenever what it shows
    may have: the business's versions (``public_version``: ``catalog_version``,
    bumped by every catalog service in its transaction; ``updated_at``, a profile
    save, e.g. a new address, which product links contain; ``created_at``, as an id
    reused after a rollback is another row), the language and ``parts``. A reader
    that races a write can only store a newer rendering under the older version,
    never the reverse: the version and the catalog commit together.

    The pages of visitors without a session are cached whole (``_serve_public``);
    these parts serve everyone else (signed-in users, addresses with a query)."""
    key = ":".join(
        str(part) for part in ("catalog", name, *public_version(business), get_language(), *parts)
    )
    fragments = caches["fragments"]
    value = fragments.get(key)
    if value is None:
        value = render_fragment()
        fragments.set(key, value)
    return value


def _serve_public(request, slug: str, name: str, render_page, *, by_hours: bool = False):
    """The page ``render_page(extra_context, now)`` draws, served whole from
    ``core.pagecache`` to a visitor without a session: a hit reads no database.
    Keyed by the business's versions as this process knows them (at most
    ``STATE_TTL`` old, see ``core.pagecache``), the language, the scheme, host and
    path (absolute URLs and the language form's ``next``), and with ``by_hours``
    the business's local weekday and whether it is open at ``now``, which the page
    is then drawn for. Anyone else, and an unknown shop, gets ``render_page`` as is."""
    now = timezone.now()
    state = get_public_business_state(slug=slug) if pagecache.is_cacheable(request) else None
    if state is None:
        return render_page({}, now)
    key = ":".join(
        str(part)
        for part in (
            "page",
            name,
            *state.version,
            get_language(),
            request.scheme,
            request.get_host(),
            request.path,
            *(state.open_state_at(now) if by_hours else ()),
        )
    )
    return pagecache.serve_page(request, key, lambda extra: render_page(extra, now))


def shop(request, slug: str):
    """The public profile with the catalog: collections as sections, then the rest.
    Whole from the page cache for visitors without a session (``_serve_public``),
    else with the catalog part cached (``_cached_fragment``): a hit costs the
    business and its opening hours, two queries."""

    def render_page(extra, now):
        business = get_public_business(slug=slug)
        context = profile_context(request, business, now=now)
        html = _cached_fragment(
            business,
            "shop",
            lambda: render_to_string(
                "catalog/shop.html#catalog",
                {"sections": selectors.get_shop_sections(business=business)},
            ),
        )
        context["catalog"] = mark_safe(html)  # noqa: S308 - our own template's output
        return render(request, "catalog/shop.html", {**context, **extra})

    response = _serve_public(request, slug, "shop", render_page, by_hours=True)
    _note_tracked_visit(request, response, slug, "shop")
    return response


def product_detail(request, slug: str, product_id: int):
    """The product page. Whole from the page cache for visitors without a session;
    for anyone else its head and content are cached like the shop's catalog, per
    host too (they hold absolute URLs): a hit costs one query (the product with its
    business), a miss one more for the photos."""

    def render_page(extra, now):
        product = selectors.get_public_product(slug=slug, product_id=product_id, with_photos=False)
        business = product.business

        def render_parts() -> dict[str, str]:
            photos = list(selectors.list_product_photos(product=product))
            context = {
                "request": request,
                "business": business,
                "product": product,
                "photos": photos,
                "ld": _product_ld(request, product, photos),
            }
            return {
                part: render_to_string(f"catalog/product_detail.html#{part}", context)
                for part in ("head", "body")
            }

        parts = _cached_fragment(
            business, "product", render_parts, product.pk, request.build_absolute_uri("/")
        )
        return render(
            request,
            "catalog/product_detail.html",
            {
                "business": business,
                "product": product,
                "cached": {name: mark_safe(html) for name, html in parts.items()},  # noqa: S308
                **extra,
            },
        )

    response = _serve_public(request, slug, "product", render_page)
    _note_tracked_visit(request, response, slug, "product", product_id)
    return response


def _note_tracked_visit(request, response, slug: str, page: str, product_id=None) -> None:
    """Tell ``catalog.hooks`` that a page with tracking parameters was served (a
    click of a campaign link: insights records it). The business comes from this
    process's memo of its public state (``core.pagecache``): no query on a hit."""
    if response.status_code != 200 or not pagecache.has_tracking(request):
        return
    state = get_public_business_state(slug=slug)
    if state is not None:
        hooks.tracked_visit(request=request, business_id=state.pk, page=page, product_id=product_id)


def _product_ld(request, product, photos) -> dict:
    ld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "description": product.description,
        "sku": product.retailer_id,
        "url": request.build_absolute_uri(product.get_absolute_url()),
        "brand": {"@type": "Brand", "name": product.business.name},
        "offers": {
            "@type": "Offer",
            "price": str(from_minor(product.price, product.currency)),
            "priceCurrency": product.currency,
            "availability": "https://schema.org/InStock"
            if product.in_stock
            else "https://schema.org/OutOfStock",
            "url": request.build_absolute_uri(product.get_absolute_url()),
            "seller": {"@type": "Organization", "name": product.business.name},
        },
    }
    if photos:
        ld["image"] = [request.build_absolute_uri(p.image.url) for p in photos]
    return ld


# --- Dashboard --------------------------------------------------------------------
# Agents may look at the product list; admins and owners change the catalog. Every
# view loads the business through get_business_for (404 for missing and forbidden)
# and every product, photo or collection through a selector scoped to that business.

ROLE = Membership.Role
PRODUCTS_PER_PAGE = 25


@login_required
def catalog_products(request, slug: str):
    business = get_business_for(user=request.user, slug=slug)
    collections = list(selectors.list_collections_for(business=business))
    filters = ProductFilterForm(request.GET or None, collections=collections)
    products = selectors.list_products_for(business=business, **filters.filters())
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    return render_dashboard(
        request,
        business,
        "catalog",
        "catalog/dashboard/products.html",
        {
            "page": page,
            "filters": filters,
            "has_collections": bool(collections),
            "can_edit": business.membership.has_role(ROLE.ADMIN),
            "next": request.get_full_path(),
        },
    )


@login_required
@require_POST
def catalog_product_toggle(request, slug: str, product_id: int, switch: str):
    """The quick toggles of the list ("Visible", "In stock"). The form posts the state
    wanted (``on`` = 1 or 0), not "flip", so a double click does no harm. HTMX gets
    the updated row and a status line; without JS, a redirect back with a message."""
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    product = selectors.get_product_for(business=business, product_id=product_id)
    on = request.POST.get("on") == "1"
    name = product.name
    try:
        if switch == "visible":
            services.set_product_active(actor=request.user, product=product, is_active=on)
            text = (
                _("“%(name)s” is visible in the shop.")
                if on
                else _("“%(name)s” is hidden from the shop.")
            )
        elif switch == "in-stock":
            services.set_product_in_stock(actor=request.user, product=product, in_stock=on)
            text = _("“%(name)s” is in stock.") if on else _("“%(name)s” is out of stock.")
        else:
            raise Http404
    except AppError as exc:
        text, level = str(exc.message), messages.ERROR
    else:
        text, level = text % {"name": name}, messages.SUCCESS
    back = next_url(request, reverse("catalog_products", args=[business.slug]))
    if not request.htmx:
        messages.add_message(request, level, text)
        return redirect(back)
    return render(
        request,
        "catalog/dashboard/products.html#toggle_response",
        {
            "business": business,
            "product": selectors.get_product_for(business=business, product_id=product.pk),
            "can_edit": True,
            "next": back,
            "status": text,
            "status_level": "success" if level == messages.SUCCESS else "error",
        },
    )


@login_required
def catalog_product_create(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    collections = list(selectors.list_collections_for(business=business))
    form = ProductForm(
        request.POST or None,
        request.FILES or None,
        currency=business.currency,
        collections=collections,
        with_photos=True,
    )
    if request.method == "POST" and form.is_valid():
        photos = form.cleaned_data["photos"]
        try:
            # Two services in one transaction: a photo that fails validation must not
            # leave a product behind. add_product_photos checks every file before it
            # writes any, so a rollback here leaves no file either.
            with transaction.atomic():
                product = services.create_product(
                    actor=request.user,
                    business=business,
                    collection_ids=form.cleaned_data["collections"],
                    **form.product_fields(),
                )
                if photos:
                    services.add_product_photos(actor=request.user, product=product, uploads=photos)
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Product “%(name)s” added.") % {"name": product.name})
            return redirect("catalog_product_edit", slug=business.slug, product_id=product.pk)
    return render_dashboard(
        request,
        business,
        "catalog",
        "catalog/dashboard/product_form.html",
        {"form": form, "product": None, "has_collections": bool(collections)},
    )


def _product_page(request, business, product, *, form=None, upload_form=None, status=200):
    collections = list(selectors.list_collections_for(business=business))
    form = form or ProductForm(
        initial=ProductForm.initial_for(product),
        currency=product.currency,
        collections=collections,
    )
    response = render_dashboard(
        request,
        business,
        "catalog",
        "catalog/dashboard/product_form.html",
        {
            "form": form,
            "product": product,
            "photos": list(product.photos.all()),
            "upload_form": upload_form or PhotoUploadForm(),
            "has_collections": bool(collections),
        },
    )
    response.status_code = status
    return response


@login_required
def catalog_product_edit(request, slug: str, product_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    product = selectors.get_product_for(business=business, product_id=product_id)
    if request.method != "POST":
        return _product_page(request, business, product)
    collections = list(selectors.list_collections_for(business=business))
    form = ProductForm(request.POST, currency=product.currency, collections=collections)
    if form.is_valid():
        try:
            product = services.update_product(
                actor=request.user,
                product=product,
                collection_ids=form.cleaned_data["collections"],
                **form.product_fields(),
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Product “%(name)s” saved.") % {"name": product.name})
            return redirect("catalog_product_edit", slug=business.slug, product_id=product.pk)
    return _product_page(request, business, product, form=form, status=400)


@login_required
@require_POST
def catalog_product_delete(request, slug: str, product_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    product = selectors.get_product_for(business=business, product_id=product_id)
    services.delete_product(actor=request.user, product=product)
    messages.success(request, _("Product “%(name)s” deleted.") % {"name": product.name})
    return redirect("catalog_products", slug=business.slug)


def _photos_url(business, product) -> str:
    return reverse("catalog_product_edit", args=[business.slug, product.pk]) + "#photos"


@login_required
@require_POST
def catalog_photos_add(request, slug: str, product_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    product = selectors.get_product_for(business=business, product_id=product_id)
    form = PhotoUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            added = services.add_product_photos(
                actor=request.user, product=product, uploads=form.cleaned_data["photos"]
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(
                request,
                ngettext("%(n)s photo added.", "%(n)s photos added.", len(added))
                % {"n": len(added)},
            )
            return redirect(_photos_url(business, product))
    return _product_page(request, business, product, upload_form=form, status=400)


def _editable_photo(request, slug: str, product_id, photo_id):
    """The business, product and photo of a photo URL, for an admin or owner; else 404."""
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    product = selectors.get_product_for(business=business, product_id=product_id)
    return business, product, selectors.get_photo_for(product=product, photo_id=photo_id)


@login_required
@require_POST
def catalog_photo_update(request, slug: str, product_id: int, photo_id: int):
    business, product, photo = _editable_photo(request, slug, product_id, photo_id)
    form = PhotoAltForm(request.POST)
    try:
        if not form.is_valid():
            raise AppError(form.errors["alt_text"][0], code="invalid", field="alt_text")
        services.update_photo(
            actor=request.user, photo=photo, alt_text=form.cleaned_data["alt_text"]
        )
    except AppError as exc:
        messages.error(request, _("Alt text not saved: %(why)s") % {"why": exc.message})
    else:
        messages.success(request, _("Alt text saved."))
    return redirect(_photos_url(business, product))


@login_required
@require_POST
def catalog_photo_move(request, slug: str, product_id: int, photo_id: int):
    business, product, photo = _editable_photo(request, slug, product_id, photo_id)
    offset = {"earlier": -1, "later": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        messages.error(request, _("Choose whether to move the photo earlier or later."))
        return redirect(_photos_url(business, product))
    flash_outcome(
        request,
        lambda: services.move_photo(actor=request.user, photo=photo, offset=offset),
        success=_("Photo moved."),
    )
    return redirect(_photos_url(business, product))


@login_required
@require_POST
def catalog_photo_delete(request, slug: str, product_id: int, photo_id: int):
    business, product, photo = _editable_photo(request, slug, product_id, photo_id)
    services.delete_photo(actor=request.user, photo=photo)
    messages.success(request, _("Photo deleted."))
    return redirect(_photos_url(business, product))


def _collections_page(request, business, *, form=None, rename_error=None, status=200):
    response = render_dashboard(
        request,
        business,
        "catalog",
        "catalog/dashboard/collections.html",
        {
            "collections": list(selectors.list_collections_with_counts_for(business=business)),
            "form": form or CollectionForm(),
            "rename_error": rename_error,
        },
    )
    response.status_code = status
    return response


@login_required
def catalog_collections(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    if request.method != "POST":
        return _collections_page(request, business)
    form = CollectionForm(request.POST)
    if form.is_valid():
        try:
            collection = services.create_collection(
                actor=request.user, business=business, name=form.cleaned_data["name"]
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(
                request, _("Collection “%(name)s” created.") % {"name": collection.name}
            )
            return redirect("catalog_collections", slug=business.slug)
    return _collections_page(request, business, form=form, status=400)


@login_required
@require_POST
def catalog_collection_rename(request, slug: str, collection_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    collection = selectors.get_collection_for(business=business, collection_id=collection_id)
    old_name = collection.name
    form = CollectionForm(request.POST)
    try:
        if not form.is_valid():
            raise AppError(form.errors["name"][0], code="invalid", field="name")
        services.rename_collection(
            actor=request.user, collection=collection, name=form.cleaned_data["name"]
        )
    except AppError as exc:
        error = (collection.pk, str(exc.message))
        return _collections_page(request, business, rename_error=error, status=400)
    messages.success(
        request,
        _("Collection “%(old)s” renamed to “%(new)s”.") % {"old": old_name, "new": collection.name},
    )
    return redirect("catalog_collections", slug=business.slug)


@login_required
@require_POST
def catalog_collection_move(request, slug: str, collection_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    collection = selectors.get_collection_for(business=business, collection_id=collection_id)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        messages.error(request, _("Choose whether to move the collection up or down."))
        return redirect("catalog_collections", slug=business.slug)
    ids = list(selectors.list_collections_for(business=business).values_list("pk", flat=True))
    i = ids.index(collection.pk)
    j = max(0, min(len(ids) - 1, i + offset))
    ids.insert(j, ids.pop(i))
    flash_outcome(
        request,
        lambda: services.reorder_collections(
            actor=request.user, business=business, collection_ids=ids
        ),
        success=_("Collection “%(name)s” moved.") % {"name": collection.name},
    )
    return redirect("catalog_collections", slug=business.slug)


@login_required
@require_POST
def catalog_collection_delete(request, slug: str, collection_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    collection = selectors.get_collection_for(business=business, collection_id=collection_id)
    services.delete_collection(actor=request.user, collection=collection)
    messages.success(
        request,
        _("Collection “%(name)s” deleted; its products stay in your catalog.")
        % {"name": collection.name},
    )
    return redirect("catalog_collections", slug=business.slug)


# --- Import and export (product feeds; see docs/catalog-import.md) ------------------


@login_required
def catalog_export(request, slug: str):
    """The whole catalog as a Meta/Google product feed CSV. Agents may download it.
    UTF-8 with a BOM, which Excel needs to show accents right."""
    business = get_business_for(user=request.user, slug=slug)
    response = HttpResponse(
        ("\ufeff" + feed.export_products(business)).encode(),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"{business.slug}-catalog-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def catalog_import(request, slug: str):
    """Upload a feed. A file with any problem imports nothing and lists every problem
    with its line; a good one is imported at once, or by a worker when it is large,
    and the merchant lands on its status page either way."""
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    problem, errors = "", []
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise AppError(_("Choose a CSV file to import."), code="required", field="file")
            too_large = feed.size_error(upload.size)
            if too_large:
                raise feed.FeedRejected([too_large])
            job = services.import_feed_file(
                actor=request.user, business=business, filename=upload.name, data=upload.read()
            )
        except feed.FeedRejected as exc:
            problem, errors = str(exc.message), exc.errors
        except AppError as exc:
            problem = str(exc.message)
        else:
            return redirect("catalog_import_status", slug=business.slug, import_id=job.pk)
    response = render_dashboard(
        request,
        business,
        "catalog",
        "catalog/import/import.html",
        {
            "problem": problem,
            "errors": errors,
            "imports": selectors.list_recent_imports_for(business=business),
            "columns": feed.COLUMNS,
            "max_mb": feed.MAX_BYTES // (1024 * 1024),
            "max_rows": feed.MAX_ROWS,
            "sync_max_rows": services.IMPORT_SYNC_MAX_ROWS,
            "example_price": feed.format_feed_price(1990, business.currency),
        },
    )
    if problem:
        response.status_code = 400
    return response


@login_required
def catalog_import_status(request, slug: str, import_id: int):
    """An import's result, or its progress while a worker runs it: HTMX polls this
    page every second for the progress fragment until the import has finished."""
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    job = selectors.get_import_for(business=business, import_id=import_id)
    context = {"business": business, "job": job}
    if request.htmx:
        return render(request, "catalog/import/status.html#progress", context)
    return render_dashboard(request, business, "catalog", "catalog/import/status.html", context)
