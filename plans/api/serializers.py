from rest_framework import serializers

from plans.models import Achievement, Objective, SuccessPlan


class ObjectiveSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Objective
        fields = [
            "id",
            "plan",
            "title",
            "metric",
            "baseline",
            "target",
            "current_value",
            "due_date",
            "status",
            "owner",
            "progress_percent",
        ]


class AchievementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Achievement
        fields = [
            "id",
            "plan",
            "objective",
            "title",
            "description",
            "achieved_on",
            "recorded_by",
        ]
        read_only_fields = ["recorded_by"]


class SuccessPlanSerializer(serializers.ModelSerializer):
    objectives = ObjectiveSerializer(many=True, read_only=True)
    achievements = AchievementSerializer(many=True, read_only=True)

    class Meta:
        model = SuccessPlan
        fields = [
            "id",
            "account",
            "name",
            "scope",
            "scope_label",
            "status",
            "summary",
            "objectives",
            "achievements",
            "created_at",
        ]
        read_only_fields = ["created_at"]
