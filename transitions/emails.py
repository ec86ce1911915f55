"""Customer email templates: placeholders, validation and rendering.

Templates use `{placeholder}` fields (see `EMAIL_PLACEHOLDERS`). An unknown
placeholder is an error when the playbook is saved and when the email is sent,
so a customer never receives a literal `{typo}`.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import formats

from .models import EMAIL_PLACEHOLDERS

_FORMATTER = string.Formatter()


def template_fields(text: str) -> set[str]:
    """The placeholder names used in `text`; raises ValidationError on broken braces."""
    try:
        return {field for _, field, _, _ in _FORMATTER.parse(text) if field is not None}
    except ValueError as error:
        raise ValidationError(
            f"The email template has unbalanced braces: {error}. Write {{{{ and }}}} for literal braces."
        ) from error


# The longest a rendered subject or body may be: far above any real email, far below what repeated placeholders
# could otherwise build. A template within both limits below always renders within it (each value is a name or a
# date, a few hundred characters at most), so the cap at rendering is only a backstop.
MAX_RENDERED_CHARS = 50_000
MAX_TEMPLATE_CHARS = 15_000
MAX_PLACEHOLDERS = 100


def validate_template(text: str, *, field: str) -> None:
    """Only bare known names: no format spec (`{account:>99999}`), conversion (`{account!r}`), attribute or index."""
    try:
        formatted = [
            (name, spec, conversion) for _, name, spec, conversion in _FORMATTER.parse(text) if name is not None
        ]
    except ValueError as error:
        raise ValidationError(
            f"The email template has unbalanced braces: {error}. Write {{{{ and }}}} for literal braces."
        ) from error
    if len(text) > MAX_TEMPLATE_CHARS or len(formatted) > MAX_PLACEHOLDERS:
        raise ValidationError(
            {
                field: f"The email template is too long: at most {MAX_TEMPLATE_CHARS:,} characters "
                f"and {MAX_PLACEHOLDERS} placeholders."
            }
        )
    decorated = [name for name, spec, conversion in formatted if spec or conversion]
    if decorated:
        raise ValidationError(
            {
                field: f"Write placeholders as a bare name, like {{account}}: {{{decorated[0]}…}} has a format or conversion."
            }
        )
    unknown = sorted(template_fields(text) - set(EMAIL_PLACEHOLDERS))
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in EMAIL_PLACEHOLDERS)
        raise ValidationError({field: f"Unknown placeholder {', '.join('{' + u + '}' for u in unknown)}. Use {known}."})


@dataclass(frozen=True)
class EmailContext:
    contact_first_name: str
    account: str
    outgoing_csm: str
    incoming_csm: str
    call_date: dt.datetime | dt.date | None

    def as_dict(self) -> dict[str, str]:
        if isinstance(self.call_date, dt.datetime):
            call_date = formats.date_format(self.call_date, "l j F Y, H:i")
        elif isinstance(self.call_date, dt.date):
            call_date = formats.date_format(self.call_date, "l j F Y")
        else:
            call_date = "a time that suits you"
        return {
            "contact_first_name": self.contact_first_name or "there",
            "account": self.account,
            "outgoing_csm": self.outgoing_csm or "your current CSM",
            "incoming_csm": self.incoming_csm or "your new CSM",
            "call_date": call_date,
        }


def render(text: str, context: EmailContext, *, field: str = "body") -> str:
    validate_template(text, field=field)
    values = context.as_dict()
    rendered = _FORMATTER.vformat(text, (), values)
    if len(rendered) > MAX_RENDERED_CHARS:
        raise ValidationError(
            {field: f"The email is too long once filled in (over {MAX_RENDERED_CHARS:,} characters)."}
        )
    return rendered


def _escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def prefill(
    text: str, context: EmailContext, *, keep: tuple[str, ...] = ("contact_first_name",), field: str = "body"
) -> str:
    """Fill in every placeholder but those in `keep`, and return a template still: literal braces stay escaped.

    The bulk introduction email shows each account's email with the account, the
    CSMs and the call date written in, to be read and edited; the contact's first
    name is filled in per recipient when it is sent.
    """
    validate_template(text, field=field)
    values = context.as_dict()
    parts = []
    for literal, name, spec, conversion in _FORMATTER.parse(text):
        parts.append(_escaped(literal))
        if name is None:
            continue
        if name in keep:
            parts.append("{" + name + "}")
        else:
            value = _FORMATTER.convert_field(values[name], conversion)
            parts.append(_escaped(_FORMATTER.format_field(value, spec or "")))
    return "".join(parts)
