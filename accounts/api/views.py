from __future__ import annotations

from typing import cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.filters import AccountFilter, ContactFilter, TimelineEntryFilter
from accounts.models import (
    ARR_REPORTING_SORT_KEY,
    RENEWAL_DATE_SORT_KEY,
    Account,
    Contact,
    Coverage,
    TimelineEntry,
    TimelineKind,
)
from core.api import DRY_RUN, as_drf_error, dry_run_asked
from users.models import User
from users.permissions import can_create_account, can_delete_account, can_edit_account, can_reassign_account

from .serializers import (
    AccountReassignSerializer,
    AccountSerializer,
    ContactSerializer,
    TimelineEntrySerializer,
)


def require_edit(user, account: Account) -> None:
    if not can_edit_account(user, account):
        raise PermissionDenied("You cannot change this account.")


class CanEditAccountOrReadOnly(permissions.IsAuthenticated):
    """Everyone signed in reads; writes to an object need the right to change its account.

    Checked when the object is fetched, so a wrong user is refused before their payload is even validated.
    """

    message = "You cannot change this account."

    def has_object_permission(self, request: Request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        account = obj if isinstance(obj, Account) else obj.account
        return can_edit_account(request.user, account)


# The router serves desk.api.AccountDeskViewSet: this, plus what lives above accounts
# (the health-band filter and the stage change).
class AccountViewSet(viewsets.ModelViewSet):
    """Accounts: everyone reads all; owners, their team's manager and admins change."""

    serializer_class = AccountSerializer
    permission_classes = [CanEditAccountOrReadOnly]
    filterset_class = AccountFilter
    # Keyset pages: each ordering is walked on its own index (accounts 0012), "-" in front walks it backwards.
    # Unconverted ARR sorts as -1 and no renewal date as the last day there is, so neither index holds NULLs.
    ordering_keys = {
        "name": ("name", "id"),
        "arr": ("arr", "id"),
        "arr_reporting": (("arr_reporting_key", ARR_REPORTING_SORT_KEY), "id"),
        "renewal_date": (("renewal_date_key", RENEWAL_DATE_SORT_KEY), "id"),
        "created_at": ("created_at", "id"),
    }
    ordering_fields = list(ordering_keys)
    ordering = ["name"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Account]:
        # The serializer writes the owner and the pool as ids: a list joins neither (a page of 50 rows would
        # build 100 users and teams it never shows). Changing one reads them through the permission check.
        accounts = Account.objects.prefetch_related("tags")
        return accounts if self.action == "list" else accounts.select_related("owner", "pool")

    @extend_schema(parameters=[DRY_RUN])
    def create(self, request: Request, *args, **kwargs) -> Response:
        """`?dry_run=1` checks the account as the real call would (permissions, coverage, constraints) and answers
        what it would be, writing nothing: the creation runs and is rolled back, its events with it."""
        if not dry_run_asked(request):
            return super().create(request, *args, **kwargs)
        with transaction.atomic():
            response = super().create(request, *args, **kwargs)
            transaction.set_rollback(True)
        return Response({**response.data, "id": None, "dry_run": True}, status=status.HTTP_200_OK)

    def perform_create(self, serializer):
        user = self.request.user
        if not can_create_account(user):
            raise PermissionDenied("Only managers and admins create accounts.")
        data = dict(serializer.validated_data)
        tags = data.pop("tags", [])
        coverage = {key: data.pop(key, None) for key in ("owner", "pool")}
        coverage["coverage"] = data.pop("coverage", Coverage.ASSIGNED)
        starting = {key: data.pop(key) for key in ("stage", "stage_entered_at") if key in data}
        # With nobody covering it the service answers 400; otherwise it must land in a book `user` may change.
        if (coverage["owner"] or coverage["pool"]) and not can_edit_account(user, Account(**coverage)):
            raise PermissionDenied("You can only add accounts to your own team's book.")
        try:
            serializer.instance = services.account_create(actor=user, fields=data, tags=tags, **coverage, **starting)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        try:
            serializer.instance = services.account_update(
                actor=self.request.user, account=serializer.instance, fields=data, tags=tags
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_destroy(self, instance):
        if not can_delete_account(self.request.user):
            raise PermissionDenied("Only admins delete accounts; mark it churned instead.")
        actor = cast(User, self.request.user)  # the permission class let only a signed-in user here
        services.account_delete(actor=actor, account=instance, reason="Deleted through the API")

    # Answers with the viewset's own serializer, so a viewset composed above (desk's, with health) answers in kind.
    @extend_schema(request=AccountReassignSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request: Request, pk=None) -> Response:
        account = self.get_object()
        if not can_reassign_account(request.user, account):
            raise PermissionDenied("Only the team's manager or an admin can change who covers an account.")
        payload = AccountReassignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            account = services.account_reassign(actor=request.user, account=account, **payload.validated_data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(self.get_serializer(self.get_object()).data)


class ContactViewSet(viewsets.ModelViewSet):
    serializer_class = ContactSerializer
    permission_classes = [CanEditAccountOrReadOnly]
    filterset_class = ContactFilter
    # By account then name (an account's contacts together, which `?account=` walks too), or by name.
    ordering_keys = {
        "account": ("account_id", "last_name", "first_name", "id"),
        "last_name": ("last_name", "first_name", "id"),
    }
    ordering_fields = list(ordering_keys)
    ordering = ["account"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Contact]:
        # A list writes the account as an id; changing a contact checks the right to change its account.
        return Contact.objects.all() if self.action == "list" else Contact.objects.select_related("account__owner")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        account = data.pop("account")
        require_edit(self.request.user, account)
        try:
            serializer.instance = services.contact_create(actor=self.request.user, account=account, fields=data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_update(self, serializer):
        contact = serializer.instance
        data = dict(serializer.validated_data)
        data.pop("account", None)
        try:
            serializer.instance = services.contact_update(actor=self.request.user, contact=contact, fields=data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # A list leaves archived contacts out unless `?archived=` asks (ContactFilter); one is still read by id.
        queryset = super().filter_queryset(queryset)
        if self.action == "list" and not self.request.query_params.get("archived"):
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset

    @extend_schema(
        summary="Archive a contact",
        description="Contacts are archived, never deleted: their touchpoints, survey answers and reports keep "
        "pointing at them. Archived contacts leave lists (`?archived=true` lists them) and stakeholder coverage; "
        "POST /api/contacts/{id}/restore/ brings one back. Archiving an archived contact changes nothing.",
    )
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        actor = cast(User, self.request.user)  # the permission class let only a signed-in user here
        services.contact_archive(actor=actor, contact=instance, reason="Deleted through the API")

    @extend_schema(request=None, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk=None) -> Response:
        contact = self.get_object()
        contact = services.contact_restore(actor=cast(User, request.user), contact=contact)
        return Response(self.get_serializer(contact).data)


class TimelineEntryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """The timeline is history: entries are added, never edited or deleted."""

    serializer_class = TimelineEntrySerializer
    filterset_class = TimelineEntryFilter
    # Keyset pages along timeline_api_occurred (accounts 0017), newest first; `?account=` walks the account's own.
    ordering_keys = {"occurred_at": ("occurred_at", "id")}
    ordering_fields = list(ordering_keys)
    ordering = ["-occurred_at"]

    def get_queryset(self) -> QuerySet[TimelineEntry]:
        # An entry writes its participants as ids: their contact rows are not built.
        return TimelineEntry.objects.prefetch_related(Prefetch("participants", queryset=Contact.objects.only("pk")))

    def perform_create(self, serializer):
        actor = cast(User, self.request.user)  # IsAuthenticated let only a signed-in user here
        data = dict(serializer.validated_data)
        account = data.pop("account")
        require_edit(actor, account)
        kind = data.pop("kind")
        try:
            if kind == TimelineKind.TOUCHPOINT:
                serializer.instance = services.touchpoint_log(
                    actor=actor,
                    account=account,
                    channel=data.get("channel", ""),
                    occurred_at=data.get("occurred_at") or timezone.now(),
                    summary=data["summary"],
                    body=data.get("body", ""),
                    sentiment=data.get("sentiment", ""),
                    participants=data.get("participants", []),
                )
            else:
                if kind == TimelineKind.RISK and not data.get("risk_tag"):
                    raise DjangoValidationError({"risk_tag": "A risk entry needs a risk tag."})
                serializer.instance = services.timeline_note_add(
                    actor=actor,
                    account=account,
                    summary=data["summary"],
                    body=data.get("body", ""),
                    risk_tag=data.get("risk_tag", "") if kind == TimelineKind.RISK else "",
                )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
