"""Forms for the signal pages: check-in calls, the CSM pulse, CSV import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone

from accounts.forms import DATETIME_INPUT
from lifecycle.models import CheckInQuestion, PulseReason
from lifecycle.signals.services import MAX_ROWS, PULSE_LABELS, AnswerInput, SignalKind
from lifecycle.signals.services.bulk import CLOCK_SKEW

YES_NO = [("no", "No"), ("yes", "Yes, a concern")]
# Below DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): the confirm step posts the text back as a form field.
MAX_CSV_BYTES = 2 * 1024 * 1024


class CheckInForm(forms.Form):
    """The active check-in questions, each a required yes/no plus an optional comment.

    Fields are named `q<pk>` and `q<pk>_comment`; `question_rows` pairs them
    for the template. A concern needs a comment: "yes, something is wrong"
    without saying what helps nobody on the next call.
    """

    held_at = forms.DateTimeField(widget=DATETIME_INPUT, label="When")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, questions: Sequence[CheckInQuestion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        self.fields["held_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        for question in self.questions:
            self.fields[f"q{question.pk}"] = forms.ChoiceField(
                choices=YES_NO,
                widget=forms.RadioSelect,
                label=question.text,
                help_text=question.help_text,
                error_messages={"required": "Answer yes or no."},
            )
            self.fields[f"q{question.pk}_comment"] = forms.CharField(
                required=False,
                label="Comment",
                widget=forms.TextInput(
                    attrs={"placeholder": "What did you hear?", "class": "form-control form-control-sm"}
                ),
            )

    @property
    def question_rows(self) -> list[tuple[CheckInQuestion, forms.BoundField, forms.BoundField]]:
        return [(q, self[f"q{q.pk}"], self[f"q{q.pk}_comment"]) for q in self.questions]

    def clean_held_at(self) -> dt.datetime:
        held_at = self.cleaned_data["held_at"]
        if held_at > timezone.now() + CLOCK_SKEW:
            raise forms.ValidationError("A check-in cannot be logged in the future.")
        return held_at

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for question in self.questions:
            if cleaned.get(f"q{question.pk}") == "yes" and not cleaned.get(f"q{question.pk}_comment", "").strip():
                self.add_error(f"q{question.pk}_comment", "Say what the concern is.")
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        return {
            "held_at": self.cleaned_data["held_at"],
            "notes": self.cleaned_data["notes"],
            "answers": [
                AnswerInput(
                    question_id=question.pk,
                    concern=self.cleaned_data[f"q{question.pk}"] == "yes",
                    comment=self.cleaned_data[f"q{question.pk}_comment"],
                )
                for question in self.questions
            ],
        }


class PulseForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(value, f"{value} · {label}") for value, label in PULSE_LABELS.items()],
        coerce=int,
        widget=forms.RadioSelect,
        label="How do you feel about this account?",
    )
    reasons = forms.MultipleChoiceField(
        choices=PulseReason.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Why"
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class SignalImportForm(forms.Form):
    kind = forms.ChoiceField(choices=SignalKind.choices, label="What the file holds")
    file = forms.FileField(label="CSV file", help_text=f"UTF-8, header line first, at most {MAX_ROWS:,} rows.")

    def clean_file(self) -> str:
        """The file's text: the preview and the import both work from it."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB; split it.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise forms.ValidationError("The file is not UTF-8 text; save it as “CSV UTF-8” and try again.") from error


class SignalImportConfirmForm(forms.Form):
    """The previewed file, sent back as text so the import checks exactly what was previewed."""

    kind = forms.ChoiceField(choices=SignalKind.choices, widget=forms.HiddenInput)
    content = forms.CharField(widget=forms.HiddenInput, strip=False, max_length=MAX_CSV_BYTES)
