"""Who may change what: the one place pages and API ask (product.md §1).

| role    | sees                 | changes                                               |
|---------|----------------------|-------------------------------------------------------|
| CSM     | all accounts (read)  | accounts they own or whose pool is their team         |
| Manager | everything           | anything of their team's accounts; transitions        |
| Admin   | everything           | everything, plus configuration                        |
| Integration (a token's service identity) | everything | accounts and signals, as far as its token's scopes go; no configuration |

API tokens add scopes on top (users/tokens/scopes.py): a token reaches only what
both its scopes and the user it acts as allow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

from django.db.models import Q

from users.tokens.scopes import Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from users.models import User


class _Owner(Protocol):
    @property
    def team_id(self) -> int | None: ...


class Account(Protocol):
    """What the checks read of an account: its owner (and the owner's team) and the team whose pool shares it.

    A Protocol rather than accounts.models.Account, which it describes: users
    sits below accounts and imports nothing above it, not even for types.
    """

    @property
    def owner_id(self) -> int | None: ...

    @property
    def pool_id(self) -> int | None: ...

    @property
    def owner(self) -> _Owner | None: ...


# Whose accounts a user answers for day to day, widest first.
Oversight = Literal["all", "team", "mine"]


def editable_accounts_q(user: User) -> Q:
    """A filter on Account selecting the rows `user` may change."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_admin or user.is_integration:
        return Q()
    if user.is_manager:
        if user.team_id is None:
            return Q(pk__in=[])
        # The team's members as a subquery rather than a join to users: each account is then tested against
        # a small hashed set, and queries over a team's book need no join (nor its per-row probe).
        from users.models import User  # here only: the rules above read no model, and importing this module loads none

        members = User.objects.filter(team_id=user.team_id).values("pk")
        return Q(owner_id__in=members) | Q(pool_id=user.team_id)
    own = Q(owner_id=user.pk)
    if user.team_id is not None:
        own |= Q(pool_id=user.team_id)
    return own


def can_edit_account(user: User, account: Account) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_admin or user.is_integration:
        return True
    if user.is_manager:
        if user.team_id is None:
            return False
        owner = account.owner if account.owner_id else None
        owner_team_id = owner.team_id if owner is not None else None
        return user.team_id in {owner_team_id, account.pool_id}
    if account.owner_id == user.pk:
        return True
    return user.team_id is not None and account.pool_id == user.team_id


def can_reassign_account(user: User, account: Account) -> bool:
    """Changing the owner is a manager's (of that team) or an admin's call."""
    return (user.is_admin or user.is_manager) and can_edit_account(user, account)


def can_configure(user: User) -> bool:
    return user.is_authenticated and user.is_admin


def oversees_alerts(user: User) -> bool:
    """Admins and managers answer for what the rules do to the whole book: they see and acknowledge flood warnings."""
    return user.is_authenticated and user.is_active and (user.is_admin or user.is_manager)


def can_manage_transition(user: User, account: Account) -> bool:
    """Starting, re-dating, reassigning and cancelling a handover is the team manager's or an admin's call."""
    return can_reassign_account(user, account)


def can_confirm_unready_handover(user: User, account: Account) -> bool:
    """Completing a handover whose context readiness is below its playbook's bar is the team manager's or an admin's
    call (with a reason), never the CSMs' who are handing it over."""
    return can_manage_transition(user, account)


def unready_handover_confirmers_q(*, team_ids: set[int]) -> Q:
    """A filter on User: who is asked to confirm a handover held below its readiness bar, for an account covered by
    `team_ids` (its owner's team and its pool): those teams' active managers. Admins may confirm too, but are
    asked only when no such manager exists (the caller falls back to them), so a team's handovers reach its own
    manager first."""
    if not team_ids:
        return Q(pk__in=[])
    return Q(is_active=True, role="manager", team_id__in=team_ids)


def can_complete_transition_task(user: User, *, assignee_id: int | None, account: Account) -> bool:
    """A CSM completes only the steps assigned to them; the team's manager and admins may complete any."""
    if not user.is_authenticated or not user.is_active:
        return False
    if assignee_id is not None and assignee_id == user.pk:
        return True
    return can_manage_transition(user, account)


def can_override_health(user: User, account: Account) -> bool:
    """Score overrides are a manager's judgement (their team's accounts) or an admin's."""
    return (user.is_admin or user.is_manager) and can_edit_account(user, account)


def sees_whole_book_on_desk(user: User) -> bool:
    """Admins have no book of their own, so their desk (the cockpit) is every account."""
    return user.is_authenticated and user.is_admin


def can_write_signals_for_any_account(actor: User | None) -> bool:
    """Integrations (an integration token, or an admin's or a manager's personal token) feed every account.

    `None` is Baton itself (a command or a job), which is trusted. Everyone
    else writes signals only for the accounts they may change (editable_accounts_q).
    """
    return actor is None or actor.is_admin or actor.is_manager or actor.is_integration


def can_create_account(user: User | AnonymousUser) -> bool:
    """Managers open accounts (for their team's book: the service checks coverage), admins and integrations (a CRM
    sync with write:accounts) for any; CSMs do not."""
    return user.is_authenticated and (user.is_manager or user.is_admin or user.is_integration)


def can_delete_account(user: User | AnonymousUser) -> bool:
    """Deleting loses the history, so only admins may; everyone else marks the account churned."""
    return user.is_authenticated and user.is_admin


def oversight(user: User) -> Oversight:
    """Whose accounts `user` answers for: admins every account, managers their team's, CSMs their own and their pool.

    Lists that open on "what is mine to act on" (the alerts inbox, the cockpit's flags) start from this.
    """
    if user.is_admin or user.is_integration:
        return "all"
    return "team" if user.is_manager else "mine"


def can_start_bulk_handover(user: User | AnonymousUser) -> bool:
    """Handing over a book of accounts is a manager's or an admin's call; each account is checked again as it starts."""
    return user.is_authenticated and (user.is_manager or user.is_admin)


def acts_as_manager(user: User | AnonymousUser | None) -> bool:
    """Whether whoever starts a handover or a playbook run takes its manager steps themselves.

    Managers and admins do; a CSM, or Baton itself (None), leaves them to a manager of the account's team.
    """
    return user is not None and user.is_authenticated and (user.is_manager or user.is_admin)


def can_manage_deliveries(user: User | AnonymousUser) -> bool:
    """Failed deliveries (emails and chat posts that could not be sent, and why) are an admin's to see and retry."""
    return user.is_authenticated and user.is_admin


def can_import_outcomes(user: User | AnonymousUser) -> bool:
    """Importing a file of renewals and churn is a manager's (their team's accounts) or an admin's; each row is checked
    against editable_accounts_q as well. Anyone who may change an account records its outcomes on the Account 360."""
    return user.is_authenticated and (user.is_manager or user.is_admin)


def can_take_over_accounts(user: User | None) -> bool:
    """Who can be made an account's owner in a handover: an active CSM or manager (admins keep no book)."""
    return user is not None and user.is_active and user.role in (user.Role.CSM, user.Role.MANAGER)


def can_deactivate_user(actor: User | AnonymousUser, user: User) -> bool:
    """Admins switch people off (never themselves); a person's book is then handed over by their manager."""
    return actor.is_authenticated and actor.is_active and actor.is_admin and actor.pk != user.pk


def can_open_django_admin(user: User | AnonymousUser) -> bool:
    """Baton's admins, and Django staff accounts (operators), get the link to Django's admin site."""
    return user.is_authenticated and (user.is_admin or user.is_staff)


# API tokens ------------------------------------------------------------------------------------------------------


def can_manage_integration_tokens(user: User | AnonymousUser) -> bool:
    """Integration tokens reach the whole book, so only admins create, rotate and revoke them."""
    return user.is_authenticated and user.is_active and user.is_admin


def personal_token_scopes(user: User | AnonymousUser) -> frozenset[Scope]:
    """The scopes a personal token of `user` may carry: no more than the user may do themselves.

    Every person reads the book, and every role changes some accounts and writes their signals (CSMs their own
    and their pool's), so a person may hold every scope; the token acts as its user, so it reaches only the
    accounts they may change. An integration's identity and an inactive user hold none.
    """
    if not user.is_authenticated or not user.is_active or user.is_integration:
        return frozenset()
    return frozenset(Scope)


def can_manage_token(user: User | AnonymousUser, *, kind: str, token_user_id: int) -> bool:
    """A personal token is its owner's to rotate and revoke (and an admin's, to stop a leaked one); an integration
    token is an admin's."""
    if can_manage_integration_tokens(user):
        return True
    return kind == "personal" and user.is_authenticated and user.is_active and user.pk == token_user_id


def can_import(user: User | AnonymousUser) -> bool:
    """Importing accounts and contacts in bulk is a manager's (their team's book: each row is checked against
    editable_accounts_q, and owners must be on their team), an admin's or an integration's (a CRM sync with
    write:accounts); CSMs edit one account at a time."""
    return user.is_authenticated and user.is_active and (user.is_manager or user.is_admin or user.is_integration)
