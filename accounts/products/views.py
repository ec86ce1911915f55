"""The catalogue's pages (everyone reads; admins add, change and delete) and the pages behind the Account 360's
"Products" panel (add, change, end and delete an entitlement; for whoever may change the account).

The panel itself is desk's page; it lists `selectors.account_entitlements` with the partial
templates/accounts/products/partials/entitlements_panel.html.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts.access import account_for_edit
from accounts.models import Account, Entitlement, Product
from core.csv_export import CHUNK_SIZE, Column, columns_response
from core.forms import add_service_errors, form_status
from users.models import User
from users.permissions import can_configure

from . import services
from .forms import EntitlementEndForm, EntitlementForm, ProductForm
from .selectors import product_catalogue, product_in_use

CONFLICT = 409


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # every page here is behind the login middleware


def _admin(request: HttpRequest) -> User:
    """The signed-in admin, or 403."""
    if not can_configure(_user(request)):
        raise PermissionDenied("Only admins change the product catalogue.")
    return _user(request)


# --- The catalogue --------------------------------------------------------------------------------


PRODUCT_EXPORT_COLUMNS: list[Column[Product]] = [
    Column("Product", attrgetter("name")),
    Column("Key", attrgetter("key")),
    Column("Description", attrgetter("description")),
    Column("Accounts today", attrgetter("holders")),
    Column("Ever held", attrgetter("ever_held")),
]


def product_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if request.GET.get("format") == "csv":
        products = product_catalogue().iterator(chunk_size=CHUNK_SIZE)
        return columns_response("products", PRODUCT_EXPORT_COLUMNS, products)
    return render(
        request,
        "accounts/products/list.html",
        {"products": product_catalogue(), "can_configure": can_configure(_user(request))},
    )


def product_create(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(actor=actor, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"{product.name} added to the catalogue.")
            return redirect("product-list")
    return render(
        request, "accounts/products/product_form.html", {"form": form, "title": "New product"}, status=form_status(form)
    )


def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    product = get_object_or_404(Product, pk=pk)
    initial = {"key": product.key, "name": product.name, "description": product.description}
    form = ProductForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.product_update(actor=actor, product=product, fields=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"{product.name} saved.")
            return redirect("product-list")
    context = {"form": form, "product": product, "title": f"Edit {initial['name']}"}
    return render(request, "accounts/products/product_form.html", context, status=form_status(form))


def product_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm (saying up front when the product is in use); POST deletes, or answers 409 with why not."""
    actor = _admin(request)
    product = get_object_or_404(Product, pk=pk)
    in_use = None
    if request.method == "POST":
        try:
            services.product_delete(actor=actor, product=product)
        except services.ProductInUse as error:
            in_use = error.messages[0]
        else:
            messages.success(request, f"{product.name} deleted from the catalogue.")
            return redirect("product-list")
        context = {"product": product, "in_use": in_use}
        return render(request, "accounts/products/product_delete.html", context, status=CONFLICT)
    context = {"product": product, "in_use": product_in_use(product)}
    return render(request, "accounts/products/product_delete.html", context)


# --- An account's entitlements --------------------------------------------------------------------


def _panel(account: Account) -> HttpResponseRedirect:
    return redirect(reverse("account-detail", args=[account.pk]) + "#products")


def _entitlement(account: Account, pk: int) -> Entitlement:
    return get_object_or_404(Entitlement.objects.select_related("product"), pk=pk, account=account)


def _entitlement_page(request: HttpRequest, template: str, account: Account, form: Any, **context: Any) -> HttpResponse:
    return render(
        request,
        f"accounts/products/{template}",
        {"account": account, "form": form, **context},
        status=form_status(form),
    )


def entitlement_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(_user(request), pk)
    form = EntitlementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entitlement = services.entitlement_create(actor=_user(request), account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"{account} holds {entitlement.product.name} now.")
            return _panel(account)
    return _entitlement_page(request, "entitlement_form.html", account, form, title="Add a product")


def entitlement_edit(request: HttpRequest, pk: int, entitlement_pk: int) -> HttpResponse:
    account = account_for_edit(_user(request), pk)
    entitlement = _entitlement(account, entitlement_pk)
    initial = {name: getattr(entitlement, name) for name in services.ENTITLEMENT_FIELDS}
    title = f"Edit {entitlement.product.name}"
    form = EntitlementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.entitlement_update(actor=_user(request), entitlement=entitlement, fields=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"{entitlement.product.name} saved.")
            return _panel(account)
    return _entitlement_page(request, "entitlement_form.html", account, form, title=title, entitlement=entitlement)


def entitlement_end(request: HttpRequest, pk: int, entitlement_pk: int) -> HttpResponse:
    """The customer gives the product up: it stays in the account's history, in force up to the day given."""
    account = account_for_edit(_user(request), pk)
    entitlement = _entitlement(account, entitlement_pk)
    form = EntitlementEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.entitlement_end(actor=_user(request), entitlement=entitlement, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            ends_on = form.cleaned_data["ends_on"]
            messages.success(request, f"{entitlement.product.name} ends on {ends_on.day} {ends_on:%b %Y}.")
            return _panel(account)
    return _entitlement_page(request, "entitlement_end.html", account, form, entitlement=entitlement)


def entitlement_delete(request: HttpRequest, pk: int, entitlement_pk: int) -> HttpResponse:
    """GET asks to confirm (and suggests ending instead); POST deletes."""
    account = account_for_edit(_user(request), pk)
    entitlement = _entitlement(account, entitlement_pk)
    if request.method == "POST":
        services.entitlement_delete(actor=_user(request), entitlement=entitlement)
        messages.success(request, f"The entitlement to {entitlement.product.name} is deleted.")
        return _panel(account)
    return render(
        request, "accounts/products/entitlement_delete.html", {"account": account, "entitlement": entitlement}
    )
