from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


@login_not_required
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


# JSON under /api/ for paths no route matches (core/api.py), Django's page elsewhere.
handler404 = "core.api.not_found"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz/", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Namespaced: the router's names (account-list, account-detail) would otherwise shadow the pages'.
    path("api/", include(("csm.api_router", "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("desk.urls")),
    path("", include("lifecycle.health.urls")),
    path("", include("lifecycle.health.backtest.urls")),
    path("", include("lifecycle.flags.urls")),
    path("", include("notifications.urls")),
    path("", include("lifecycle.signals.urls")),
    path("", include("transitions.urls")),
    path("", include("plans.urls")),
    path("", include("accounts.urls")),
    path("", include("users.tokens.urls")),
]
