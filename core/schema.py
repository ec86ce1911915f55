"""How the API schema reads core's authentication gate: it adds no way to sign in, so no security scheme."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class FailedAuthenticationGateScheme(OpenApiAuthenticationExtension):
    target_class = "core.throttles.FailedAuthenticationGate"
    name: list[str] = []

    def get_security_requirement(self, auto_schema: Any) -> Any:
        return None

    def get_security_definition(self, auto_schema: Any) -> list[Any]:
        return []
