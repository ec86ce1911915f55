from django.db import models


class Stage(models.TextChoices):
    """Where a customer is in its life with us (product.md §3)."""

    ONBOARDING = "onboarding", "Onboarding"
    ADOPTION = "adoption", "Adoption"
    SUCCESS = "success", "Success"
    AT_RISK = "at_risk", "Renewal at risk"
    CHURNED = "churned", "Churned"
