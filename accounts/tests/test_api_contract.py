"""What the API contract run (tools/api_contract.py) found on contacts and the timeline, kept fixed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.tests.factories import ContactFactory, TimelineEntryFactory
from users.tests.factories import AdminFactory

pytestmark = pytest.mark.django_db


def test_a_contact_without_an_email_reads_back_as_empty(api):
    contact = ContactFactory(email="")

    response = api(AdminFactory()).get(reverse("api:contact-detail", args=[contact.pk]))

    assert response.status_code == 200
    assert response.json()["email"] == ""


def test_a_timeline_entry_without_an_author_reads_back_with_null(api):
    entry = TimelineEntryFactory(author=None)

    response = api(AdminFactory()).get(reverse("api:timeline-detail", args=[entry.pk]))

    assert response.status_code == 200
    assert response.json()["author"] is None
