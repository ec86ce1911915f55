"""The people who work at the demo company: two teams, their managers and CSMs."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password

from users.models import Team, User

from .core import DemoCompany

DEMO_PASSWORD = "baton-demo"
ENTERPRISE = "Enterprise"
MID_MARKET = "Mid-market"
TEAMS = {ENTERPRISE: "Enterprise", MID_MARKET: "Mid-market"}


@dataclass(frozen=True)
class StaffMember:
    username: str
    first_name: str
    last_name: str
    title: str
    role: str
    team: str | None


# `make run` prints these usernames; keep them in step with the Makefile.
ROSTER = [
    StaffMember("admin", "Ada", "Lindqvist", "Head of CS Operations", User.Role.ADMIN, None),
    StaffMember(
        "maria",
        "Maria",
        "Santos",
        "CS Manager, Enterprise",
        User.Role.MANAGER,
        ENTERPRISE,
    ),
    StaffMember("tom", "Tom", "Becker", "CS Manager, Mid-market", User.Role.MANAGER, MID_MARKET),
    StaffMember(
        "alex",
        "Alex",
        "Morgan",
        "Senior Customer Success Manager",
        User.Role.CSM,
        ENTERPRISE,
    ),
    StaffMember("sam", "Sam", "Okafor", "Customer Success Manager", User.Role.CSM, ENTERPRISE),
    StaffMember("priya", "Priya", "Raman", "Customer Success Manager", User.Role.CSM, ENTERPRISE),
    StaffMember("jonas", "Jonas", "Tamm", "Customer Success Manager", User.Role.CSM, ENTERPRISE),
    StaffMember("lena", "Lena", "Vogel", "Customer Success Manager", User.Role.CSM, MID_MARKET),
    StaffMember("omar", "Omar", "Haddad", "Customer Success Manager", User.Role.CSM, MID_MARKET),
    StaffMember("chen", "Chen", "Liu", "Customer Success Manager", User.Role.CSM, MID_MARKET),
    StaffMember(
        "sofia",
        "Sofia",
        "Marques",
        "Senior Customer Success Manager",
        User.Role.CSM,
        MID_MARKET,
    ),
]
USERNAMES = [member.username for member in ROSTER]
# Sofia carries the big Mid-market book (~40 accounts at demo size): the
# handover story in the field notes starts with a CSM moving on from one.
HANDOVER_CSM = "sofia"


def create_staff(company: DemoCompany) -> None:
    teams = [Team(name=name, segment=segment) for name, segment in TEAMS.items()]
    company.bulk_create(Team, teams)
    company.teams = {team.name: team for team in teams}
    # One hash for everyone: hashing is deliberately slow and the password is shared anyway.
    password = make_password(DEMO_PASSWORD)
    users = [
        User(
            username=member.username,
            first_name=member.first_name,
            last_name=member.last_name,
            email=f"{member.username}@baton.example",
            title=member.title,
            role=member.role,
            team=company.teams[member.team] if member.team else None,
            is_staff=member.role == User.Role.ADMIN,
            is_superuser=member.role == User.Role.ADMIN,
            password=password,
        )
        for member in ROSTER
    ]
    company.bulk_create(User, users)
    company.users = {user.username: user for user in users}
