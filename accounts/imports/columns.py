"""The Baton fields an import fills, how a file's columns are matched to them, and how values are read.

A column is matched to a field by its normalised name (case, spaces, dashes and underscores
ignored) or a common synonym ("Company" is the name, "Website" the domain, "CSM" the owner).
Dates are ISO (YYYY-MM-DD) unless the mapping says the file writes them day first or month
first; a slash or dot date is never guessed, as 03/04/2025 reads both ways.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from accounts.models import DealRole, EmployeeBand, Industry, Influence, Region, Sentiment, Stage, Tier


class Kind:
    ACCOUNTS = "accounts"
    CONTACTS = "contacts"
    CHOICES: list[tuple[str, str]] = [(ACCOUNTS, "Accounts"), (CONTACTS, "Contacts")]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str
    synonyms: tuple[str, ...] = ()


ACCOUNT_FIELDS: tuple[Field, ...] = (
    Field(
        "external_id",
        "External id",
        "The account's id in the CRM; the key when mapped",
        ("crm id", "account id", "id", "salesforce id", "hubspot id", "record id"),
    ),
    Field(
        "name",
        "Name",
        "Needed for a new account",
        (
            "account name",
            "company",
            "company name",
            "account",
            "customer",
            "customer name",
            "organisation",
            "organization",
        ),
    ),
    Field(
        "domain",
        "Domain",
        "The key when no external id is mapped; scheme and www. are dropped",
        ("website", "web site", "url", "company domain", "domain name"),
    ),
    Field(
        "owner",
        "Owner",
        "The CSM's email or username",
        ("csm", "owner email", "account owner", "csm email", "customer success manager", "owner username"),
    ),
    Field("pool", "Pool", "The team sharing a pooled account (its name), when no owner", ("team", "pool team")),
    Field("industry", "Industry", "Code or label; blank or “unknown”: Unknown", ("sector", "vertical")),
    Field(
        "region",
        "Region",
        "Code or label (na, emea, apac, latam); blank or “unknown”: Unknown",
        ("geo", "territory", "geography"),
    ),
    Field(
        "employee_band",
        "Employees",
        "1-50, 51-200, 201-1000, 1001-5000 or 5000+",
        ("employees", "employee band", "company size", "size"),
    ),
    Field(
        "arr",
        "ARR",
        "A plain number; thousands separators allowed",
        ("annual recurring revenue", "arr amount", "contract value", "acv"),
    ),
    Field("currency", "Currency", "Three letters, e.g. EUR", ("arr currency", "currency code")),
    Field("contract_start", "Contract start", "A date", ("contract start date", "start date", "customer since")),
    Field(
        "renewal_date",
        "Renewal date",
        "A date after the contract start",
        ("renewal", "renews on", "contract end", "contract end date", "next renewal"),
    ),
    Field(
        "tier",
        "Tier",
        "high, low or tech (or the labels); set by hand, not by the tier rules",
        ("touch", "service tier", "coverage tier"),
    ),
    Field(
        "stage",
        "Stage",
        "onboarding, adoption, success or at_risk (or the labels)",
        ("lifecycle stage", "customer stage", "lifecycle"),
    ),
    Field(
        "stage_entered_at",
        "Stage entered",
        "The date the account entered that stage",
        ("stage date", "stage since", "stage entered", "in stage since"),
    ),
    Field(
        "tags",
        "Tags",
        "Separated by ; | or , (quote the cell when it holds the delimiter); new ones are created",
        ("tag", "labels", "label"),
    ),
    Field(
        "fiscal_year_start_month",
        "Fiscal year starts",
        "Month number, 1 = January",
        ("fiscal year start", "fiscal month"),
    ),
    Field("why_they_bought", "Why they bought", "Text", ("why bought", "purchase reason", "buying reason")),
    Field("tech_stack_notes", "Tech stack", "Text", ("tech stack", "technology", "stack")),
)

CONTACT_FIELDS: tuple[Field, ...] = (
    Field(
        "account",
        "Account",
        "The account's external id or domain (as the accounts import keys it)",
        (
            "account domain",
            "company domain",
            "account external id",
            "account id",
            "crm account id",
            "company",
            "domain",
            "website",
        ),
    ),
    Field("email", "Email", "The contact's key within the account", ("email address", "e-mail", "mail", "work email")),
    Field("first_name", "First name", "Needed for a new contact", ("first", "given name", "firstname", "forename")),
    Field("last_name", "Last name", "", ("last", "surname", "family name", "lastname")),
    Field("title", "Title", "", ("job title", "position", "role title")),
    Field("phone", "Phone", "", ("phone number", "telephone", "mobile")),
    Field("chat_handle", "Chat handle", "", ("slack", "chat", "slack handle")),
    Field(
        "deal_role",
        "Deal role",
        "champion, decision_maker, economic_buyer, user, detractor (or the labels)",
        ("role", "buying role", "persona"),
    ),
    Field("influence", "Influence", "low, medium or high", ()),
    Field("sentiment", "Sentiment", "positive, neutral, negative or unknown", ()),
    Field(
        "reports_to",
        "Reports to",
        "The manager's email, a contact of the same account",
        ("manager", "manager email", "reports to email"),
    ),
    Field("departed", "Departed", "yes/no", ("left", "has left", "left company")),
)

FIELDS = {Kind.ACCOUNTS: ACCOUNT_FIELDS, Kind.CONTACTS: CONTACT_FIELDS}
IGNORE = ""


def normalised(name: str) -> str:
    return re.sub(r"[\s_\-./]+", " ", name.casefold()).strip()


def auto_mapping(kind: str, header: Sequence[str]) -> dict[str, str]:
    """{column: field} for the columns whose name or synonym names a field; each field taken once, first column wins."""
    lookup: dict[str, str] = {}
    for field in FIELDS[kind]:
        for name in (field.name, field.label, *field.synonyms):
            lookup.setdefault(normalised(name), field.name)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in header:
        field_name = lookup.get(normalised(column))
        if field_name and field_name not in taken:
            mapping[column] = field_name
            taken.add(field_name)
    return mapping


def headers_key(header: Sequence[str]) -> str:
    """The same columns in any order and case give the same key: a saved mapping is found by it."""
    return "|".join(sorted(normalised(name) for name in header if name.strip()))[:2000]


# --- values -------------------------------------------------------------------------------------------------


class DateFormat:
    ISO = "iso"
    DAY_FIRST = "dmy"
    MONTH_FIRST = "mdy"
    CHOICES: list[tuple[str, str]] = [
        (ISO, "YYYY-MM-DD (ISO)"),
        (DAY_FIRST, "DD/MM/YYYY (day first; also DD.MM.YYYY)"),
        (MONTH_FIRST, "MM/DD/YYYY (month first)"),
    ]


class BadValue(ValueError):
    """A value that cannot be read; the message says what was expected."""


_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_SLASHED = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_EXPECTED = {
    DateFormat.ISO: "a date written YYYY-MM-DD",
    DateFormat.DAY_FIRST: "a date written DD/MM/YYYY",
    DateFormat.MONTH_FIRST: "a date written MM/DD/YYYY",
}


def parse_date(value: str, date_format: str) -> dt.date:
    if len(value) == 10 and value[4] == "-":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    match = _ISO.match(value)
    try:
        if match:
            year, month, day = (int(part) for part in match.groups())
            return dt.date(year, month, day)
        match = _SLASHED.match(value)
        if match and date_format != DateFormat.ISO:
            first, second, year = (int(part) for part in match.groups())
            day, month = (first, second) if date_format == DateFormat.DAY_FIRST else (second, first)
            return dt.date(year, month, day)
    except ValueError:
        raise BadValue(f"“{value}” is not a day of the calendar.") from None
    hint = "" if date_format != DateFormat.ISO else " (choose the file's date format on the mapping page)"
    raise BadValue(f"“{value}” is not {_EXPECTED[date_format]}{hint}.")


_AMOUNT = re.compile(r"^\d{1,3}(?:([,.' \u00a0])\d{3})*(?:([.,])\d+)?$|^\d+(?:[.,]\d+)?$")


# What most files write (48000, 48000.5, 48,000.00): read without the general pattern's steps, to the same amount.
_PLAIN_AMOUNT = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d{1,12})(?:\.\d{1,2})?")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1e12")


def parse_amount(value: str) -> Decimal:
    """A non-negative amount: 1234.5, 1,234.50, 1.234,50, 1 234,50; a currency sign or code around it is refused."""
    text = value.strip()
    if _PLAIN_AMOUNT.fullmatch(text):
        amount = Decimal(text.replace(",", "")).quantize(CENT)
        if amount < MAX_AMOUNT:
            return amount
    match = _AMOUNT.match(text)
    if not match:
        raise BadValue(f"“{value}” is not an amount: write a plain number such as 48000 or 48,000.00.")
    thousands = match.group(1) if match.lastindex else None
    if thousands:
        text = text.replace(thousands, "")
        text = text.replace(",", ".")
    elif "," in text and "." not in text:
        # 48000,50 is a decimal comma; 48,000 alone (three digits after) is read as thousands above.
        text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BadValue(f"“{value}” is not an amount.") from None
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise BadValue(f"“{value}” has more than two decimals.")
    if amount >= MAX_AMOUNT:
        raise BadValue(f"“{value}” is too large for an ARR.")
    return amount.quantize(CENT)


def _choice_lookup(choices: Sequence[tuple[str, str]], *extra: tuple[str, str]) -> dict[str, str]:
    lookup = {}
    for value, label in choices:
        lookup[normalised(value)] = value
        lookup[normalised(label)] = value
    for alias, value in extra:
        lookup[normalised(alias)] = value
    return lookup


INDUSTRIES = _choice_lookup(Industry.choices, ("n/a", Industry.UNKNOWN), ("none", Industry.UNKNOWN))
REGIONS = _choice_lookup(
    Region.choices,
    ("north america", Region.NORTH_AMERICA),
    ("americas", Region.NORTH_AMERICA),
    ("us", Region.NORTH_AMERICA),
    ("europe", Region.EMEA),
    ("asia pacific", Region.APAC),
    ("latin america", Region.LATAM),
    ("n/a", Region.UNKNOWN),
    ("none", Region.UNKNOWN),
)
EMPLOYEE_BANDS = _choice_lookup(EmployeeBand.choices, ("1001-5000", "1001-5000"), ("5000 +", "5000+"))
TIERS = _choice_lookup(
    Tier.choices, ("high touch", Tier.HIGH_TOUCH), ("low touch", Tier.LOW_TOUCH), ("tech touch", Tier.TECH_TOUCH)
)
STAGES = _choice_lookup(Stage.choices, ("at risk", Stage.AT_RISK))
DEAL_ROLES = _choice_lookup(DealRole.choices)
INFLUENCES = _choice_lookup(Influence.choices)
SENTIMENTS = _choice_lookup(Sentiment.choices)
_TRUE = {"yes", "y", "true", "1", "x", "departed", "left"}
_FALSE = {"no", "n", "false", "0", ""}


def parse_choice(value: str, lookup: dict[str, str], what: str) -> str:
    found = lookup.get(normalised(value))
    if found is None:
        choices = ", ".join(sorted(set(lookup.values())))
        raise BadValue(f"“{value}” is not a {what}: one of {choices}.")
    return found


def parse_bool(value: str) -> bool:
    key = value.strip().casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise BadValue(f"“{value}” is not yes or no.")


_HOST = re.compile(r"(?:[a-z][a-z0-9+.\-]*://)?([^/?#:]*)")
_DOMAIN = re.compile(
    r"^(?=.{1,200}$)[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)+$"
)


def parse_domain(value: str) -> str:
    """example.com from https://www.Example.com/about: lower-case, no scheme, no www., no path."""
    text = value.strip().casefold()
    if _DOMAIN.match(text) and not text.startswith("www."):
        return text  # already a bare domain
    # The host: after any scheme, up to the first / ? # or :.
    text = _HOST.match(text).group(1).rstrip(".")  # type: ignore[union-attr]
    if text.startswith("www."):
        text = text[4:]
    if not _DOMAIN.match(text):
        raise BadValue(f"“{value}” is not a domain such as example.com.")
    return text


_TAG_SPLIT = re.compile(r"[;|,]")


def parse_tags(value: str) -> tuple[str, ...]:
    """Tag names separated by ; | or , (the csv module has already taken a quoted cell whole)."""
    names: list[str] = []
    for part in _TAG_SPLIT.split(value):
        name = " ".join(part.split())
        if not name:
            continue
        if len(name) > 50:
            raise BadValue(f"The tag “{name[:20]}…” is longer than 50 characters.")
        if name.casefold() not in {existing.casefold() for existing in names}:
            names.append(name)
    return tuple(sorted(names, key=str.casefold))
