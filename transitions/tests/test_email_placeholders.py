"""Email placeholders are bare names: no format spec, conversion, attribute or index, and a bounded size."""

import pytest
from django.core.exceptions import ValidationError

from transitions import emails
from transitions.emails import EmailContext

CONTEXT = EmailContext(
    contact_first_name="Ana", account="Acme", outgoing_csm="Olga", incoming_csm="Ivan", call_date=None
)


@pytest.mark.parametrize(
    "text",
    [
        "Hi {account:>10000000}",  # a width that builds a multi-megabyte email
        "Hi {account:{call_date}}",
        "Hi {account!r}",
        "Hi {account!s:^99}",
        "Hi {account.__class__}",
        "Hi {account[0]}",
        "Hi {0}",
        "Hi {}",
    ],
)
def test_anything_but_a_bare_known_name_is_refused_before_anything_is_built(text):
    with pytest.raises(ValidationError) as refused:
        emails.render(text, CONTEXT)
    assert "body" in refused.value.message_dict


def test_bare_names_and_escaped_braces_render():
    assert emails.render("Hi {contact_first_name} of {account} {{literal}}", CONTEXT) == "Hi Ana of Acme {literal}"


def test_a_template_too_long_or_with_too_many_placeholders_is_refused():
    with pytest.raises(ValidationError, match="too long"):
        emails.validate_template("x" * (emails.MAX_TEMPLATE_CHARS + 1), field="body")
    with pytest.raises(ValidationError, match="too long"):
        emails.validate_template("{account}" * (emails.MAX_PLACEHOLDERS + 1), field="body")


def test_the_longest_valid_template_renders_within_the_cap():
    long_names = EmailContext(
        contact_first_name="A" * 150, account="B" * 200, outgoing_csm="C" * 301, incoming_csm="D" * 301, call_date=None
    )
    text = "{incoming_csm}" * emails.MAX_PLACEHOLDERS
    text += "x" * (emails.MAX_TEMPLATE_CHARS - len(text))
    assert len(emails.render(text, long_names)) <= emails.MAX_RENDERED_CHARS
