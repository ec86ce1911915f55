import factory

from users.models import Team, User


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Team {n}")
    segment = "Mid-market"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@baton.test")
    role = User.Role.CSM
    team = factory.SubFactory(TeamFactory)
    password = factory.django.Password("pw")


class CSMFactory(UserFactory):
    role = User.Role.CSM


class ManagerFactory(UserFactory):
    role = User.Role.MANAGER


class AdminFactory(UserFactory):
    role = User.Role.ADMIN
    team = None
    is_staff = True
