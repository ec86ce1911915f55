from rest_framework.routers import DefaultRouter

from accounts.api.views import AccountViewSet, ContactViewSet, TimelineEntryViewSet
from users.api.views import TeamViewSet, UserViewSet

router = DefaultRouter()
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("timeline", TimelineEntryViewSet, basename="timeline")
router.register("users", UserViewSet, basename="user")
router.register("teams", TeamViewSet, basename="team")

urlpatterns = router.urls
