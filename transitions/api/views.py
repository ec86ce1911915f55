"""Playbooks, transitions and tasks over REST: the same services and rules as the pages."""

from __future__ import annotations

from typing import cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Contact
from transitions import services
from transitions.filters import TransitionFilter, TransitionTaskFilter
from transitions.models import OutboundEmail, Playbook, Transition, TransitionTask
from users.models import User

from .serializers import (
    BulkStartSerializer,
    CancelSerializer,
    CompleteSerializer,
    OutboundEmailSerializer,
    PlaybookSerializer,
    RescheduleSerializer,
    TaskEmailSerializer,
    TransitionSerializer,
    TransitionTaskSerializer,
)


def _drf(error: Exception) -> Exception:
    if isinstance(error, DjangoPermissionDenied):
        return PermissionDenied(str(error))
    if hasattr(error, "error_dict"):
        return ValidationError({f: [m for e in errs for m in e.messages] for f, errs in error.error_dict.items()})
    return ValidationError({"non_field_errors": error.messages})


def _conflict_response(error: services.TransitionConflict) -> Response:
    return Response(
        {"detail": error.messages[0], "conflicting_accounts": error.account_ids},
        status=status.HTTP_409_CONFLICT,
    )


class PlaybookViewSet(viewsets.ModelViewSet):
    """Everyone reads playbooks; admins write them. Each write bumps the version."""

    serializer_class = PlaybookSerializer
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Playbook]:
        return Playbook.objects.prefetch_related("steps").order_by("kind", "name")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        steps = [dict(step) for step in data.pop("steps")]
        try:
            serializer.instance = services.playbook_create(actor=self.request.user, fields=data, steps=steps)
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        steps = data.pop("steps", None)
        try:
            serializer.instance = services.playbook_update(
                actor=self.request.user,
                playbook=serializer.instance,
                fields=data,
                steps=[dict(step) for step in steps] if steps is not None else None,
            )
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error


class TransitionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = TransitionSerializer
    filterset_class = TransitionFilter
    ordering_fields = ["target_date", "start_date", "created_at"]
    ordering = ["target_date", "id"]

    def get_queryset(self) -> QuerySet[Transition]:
        return Transition.objects.with_progress()

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            transition = services.transition_start(
                actor=request.user,
                account=data["account"],
                to_csm=data["to_csm"],
                reason=data["reason"],
                start_date=data["start_date"],
                target_date=data["target_date"],
                playbook=data.get("playbook"),
                note=data.get("note", ""),
            )
        except services.TransitionConflict as error:
            return _conflict_response(error)
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        return Response(
            self.get_serializer(self.get_queryset().get(pk=transition.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=BulkStartSerializer, responses={201: TransitionSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="bulk-start")
    def bulk_start(self, request: Request) -> Response:
        """Start many handovers at once: all of them, or none (409 naming the accounts already under way)."""
        payload = BulkStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        playbook = data.get("playbook") or services.default_handover_playbook()
        if playbook is None:
            raise ValidationError({"playbook": "There is no default handover playbook."})
        try:
            transitions = services.transition_bulk_start(
                actor=request.user,
                assignments=[(a["account"], a["to_csm"]) for a in data["assignments"]],
                playbook=playbook,
                reason=data["reason"],
                start_date=data["start_date"],
                target_date=data["target_date"],
                note=data["note"],
            )
        except services.TransitionConflict as error:
            return _conflict_response(error)
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        rows = self.get_queryset().filter(pk__in=[t.pk for t in transitions])
        return Response(self.get_serializer(rows, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CancelSerializer, responses=TransitionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        transition = self.get_object()
        payload = CancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.transition_cancel(
                actor=request.user,
                transition=transition,
                reason=payload.validated_data["reason"],
            )
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        return Response(self.get_serializer(self.get_queryset().get(pk=transition.pk)).data)

    @extend_schema(request=CompleteSerializer, responses=TransitionSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk=None) -> Response:
        """Complete a handover whose required steps are done.

        Below the playbook's `min_readiness` only the team's manager or an admin may, with a `reason`:
        anyone else gets 409 naming the readiness, the threshold and what is missing; no reason is a 400.
        """
        transition = self.get_object()
        payload = CompleteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.transition_complete(
                actor=cast(User, request.user), transition=transition, reason=payload.validated_data["reason"]
            )
        except services.ConfirmationRequired as error:
            return Response(
                {
                    "detail": str(error),
                    "readiness": error.readiness,
                    "threshold": error.threshold,
                    "missing": error.missing,
                },
                status=status.HTTP_409_CONFLICT,
            )
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        return Response(self.get_serializer(self.get_queryset().get(pk=transition.pk)).data)

    @extend_schema(request=RescheduleSerializer, responses=TransitionSerializer)
    @action(detail=True, methods=["post"])
    def reschedule(self, request: Request, pk=None) -> Response:
        transition = self.get_object()
        payload = RescheduleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.transition_reschedule(actor=request.user, transition=transition, **payload.validated_data)
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        return Response(self.get_serializer(self.get_queryset().get(pk=transition.pk)).data)


class TransitionTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TransitionTaskSerializer
    filterset_class = TransitionTaskFilter
    ordering_fields = ["due_date", "position"]
    ordering = ["due_date", "position", "id"]

    def get_queryset(self) -> QuerySet[TransitionTask]:
        return TransitionTask.objects.all()

    def _task_response(self, task: TransitionTask) -> Response:
        task.refresh_from_db()
        return Response(self.get_serializer(task).data)

    @extend_schema(request=None, responses=TransitionTaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        try:
            services.task_complete(actor=request.user, task=task)
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        return self._task_response(task)

    @extend_schema(request=None, responses=TransitionTaskSerializer)
    @action(detail=True, methods=["post"])
    def skip(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        try:
            services.task_complete(actor=request.user, task=task, skip=True)
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        return self._task_response(task)

    @extend_schema(request=TaskEmailSerializer, responses=OutboundEmailSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="send-email")
    def send_email(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        payload = TaskEmailSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        contacts = list(Contact.objects.filter(pk__in=data["contacts"]))
        if len(contacts) != len(set(data["contacts"])):
            raise ValidationError({"contacts": "Unknown contact."})
        try:
            outbox = services.task_email_send(
                actor=request.user,
                task=task,
                contacts=contacts,
                subject=data["subject"],
                body=data["body"],
                call_date=data["call_date"],
            )
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        return Response(
            OutboundEmailSerializer(outbox, many=True).data,
            status=status.HTTP_201_CREATED,
        )


class OutboundEmailViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OutboundEmailSerializer
    filterset_fields = ["account", "task", "status"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[OutboundEmail]:
        return OutboundEmail.objects.all()

    @extend_schema(request=None, responses=OutboundEmailSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk=None) -> Response:
        email = self.get_object()
        try:
            services.outbound_email_retry(actor=request.user, email=email)
        except (DjangoValidationError, DjangoPermissionDenied) as error:
            raise _drf(error) from error
        email.refresh_from_db()
        return Response(self.get_serializer(email).data)
