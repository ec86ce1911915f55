from urllib.parse import urlsplit

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import OptionalEmailField
from core.net import UnsafeURL, check_url
from users.models import Team, User


class ChatWebhookSerializer(serializers.Serializer):
    """What readers see of a team's chat webhook (documents TeamSerializer.chat_webhook)."""

    set = serializers.BooleanField()
    host = serializers.CharField(help_text="The URL's host; empty when none is set.")


class TeamSerializer(serializers.ModelSerializer):
    # The chat webhook URL is a secret (whoever holds it posts to the team's channel): it is written, never read
    # back; readers see whether one is set and its host.
    chat_webhook_url = serializers.URLField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Slack-compatible incoming-webhook URL (write-only); an empty string removes it.",
    )
    chat_webhook = serializers.SerializerMethodField()

    class Meta:
        model = Team
        fields = ["id", "name", "segment", "chat_webhook_url", "chat_webhook"]

    @extend_schema_field(ChatWebhookSerializer)
    def get_chat_webhook(self, team: Team) -> dict[str, object]:
        url = team.chat_webhook_url
        return {"set": bool(url), "host": (urlsplit(url).hostname or "") if url else ""}

    def validate_chat_webhook_url(self, value: str) -> str:
        """Public addresses only (over https), as for outbound webhooks, unless the install allows private ones."""
        if value:
            try:
                check_url(value)
            except UnsafeURL as error:
                raise serializers.ValidationError(str(error)) from error
        return value


class UserSerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="get_full_name", read_only=True)
    email = OptionalEmailField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "full_name",
            "email",
            "role",
            "team",
            "title",
            "is_active",
        ]
