from __future__ import annotations

from rest_framework import serializers

from accounts.models import Account, ChurnReason, Contact, Stage, Tag, TimelineEntry
from accounts.services import ACCOUNT_EDITABLE_FIELDS, CONTACT_EDITABLE_FIELDS
from core.api import OptionalEmailField
from core.list_serializer import LeanListSerializer
from users.models import Team, User


class AccountSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(slug_field="name", many=True, queryset=Tag.objects.all(), required=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    pool = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    stage = serializers.ChoiceField(
        choices=Stage.choices,
        required=False,
        help_text="Where the customer is in its lifecycle: onboarding when left out. An integration importing a "
        "long-standing customer sends its stage and `stage_entered_at`, so the rules count from then.",
    )
    stage_entered_at = serializers.DateTimeField(
        required=False,
        help_text="When the account entered `stage` (a date or a moment), not in the future; now when left out. "
        "On an update, a later moment in another stage is a stage change; an earlier one corrects the stage "
        "the account was created or imported in, while no stage change is recorded for it.",
    )

    class Meta:
        model = Account
        fields = [
            "id",
            *ACCOUNT_EDITABLE_FIELDS,
            "coverage",
            "owner",
            "pool",
            "stage",
            "stage_entered_at",
            "tags",
            "created_at",
            "updated_at",
            "arr_reporting",
        ]
        read_only_fields = ["created_at", "updated_at", "arr_reporting"]
        # A list writes its rows with each field's work done once per page, not once per row (core/list_serializer.py).
        list_serializer_class = LeanListSerializer
        extra_kwargs = {
            "arr_reporting": {
                "help_text": "ARR in the reporting currency at the exchange rate in force today; "
                "null while no rate is known for `currency`."
            }
        }

    def validate_arr(self, value):
        # The database refuses it too, but only with the constraint's name; say it in words.
        if value < 0:
            raise serializers.ValidationError("ARR cannot be negative.")
        return value

    def validate(self, attrs):
        start = attrs.get("contract_start", getattr(self.instance, "contract_start", None))
        renewal = attrs.get("renewal_date", getattr(self.instance, "renewal_date", None))
        if start and renewal and renewal <= start:
            raise serializers.ValidationError({"renewal_date": "The renewal date must come after the contract start."})
        if self.instance is not None:
            moved = {name for name in ("coverage", "owner", "pool") if name in attrs}
            if moved:
                raise serializers.ValidationError(
                    {
                        name: "Change coverage with POST /api/accounts/{id}/reassign/ (it needs a reason)."
                        for name in moved
                    }
                )
        return attrs


class AccountReassignSerializer(serializers.Serializer):
    coverage = serializers.ChoiceField(choices=Account._meta.get_field("coverage").choices)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False, default=None
    )
    pool = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False, default=None
    )
    reason = serializers.CharField()


class StageChangeSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=Account._meta.get_field("stage").choices)
    reason = serializers.CharField(min_length=3, help_text="Why the stage changes: required, kept in the audit trail.")
    churn_reason = serializers.ChoiceField(
        choices=ChurnReason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed to move an account to churned: the churn is recorded as an outcome (/api/outcomes/).",
    )


class ContactSerializer(serializers.ModelSerializer):
    email = OptionalEmailField()

    class Meta:
        model = Contact
        fields = ["id", "account", *CONTACT_EDITABLE_FIELDS, "archived_at", "created_at", "updated_at"]
        read_only_fields = ["archived_at", "created_at", "updated_at"]
        list_serializer_class = LeanListSerializer
        # DRF would turn the per-account unique email into a rule that every contact needs an email;
        # the service checks the constraint (blank emails allowed) and answers with its message.
        validators: list = []

    def validate(self, attrs):
        if self.instance is not None and "account" in attrs and attrs["account"].pk != self.instance.account_id:
            raise serializers.ValidationError({"account": "A contact cannot move to another account."})
        return attrs


class TimelineEntrySerializer(serializers.ModelSerializer):
    participants = serializers.PrimaryKeyRelatedField(many=True, queryset=Contact.objects.active(), required=False)
    # Null for entries an import or integration wrote, and for people since deleted.
    author = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = TimelineEntry
        fields = [
            "id",
            "account",
            "kind",
            "channel",
            "risk_tag",
            "event",
            "occurred_at",
            "author",
            "summary",
            "body",
            "sentiment",
            "participants",
            "created_at",
        ]
        read_only_fields = ["event", "author", "created_at"]
        list_serializer_class = LeanListSerializer

    def validate_kind(self, value: str) -> str:
        if value == "system":
            raise serializers.ValidationError("System events are written by Baton itself.")
        return value
