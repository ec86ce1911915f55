"""The import pages' forms: the upload, and the mapping of the file's columns to Baton's fields."""

from __future__ import annotations

from typing import Any

from django import forms

from .columns import FIELDS, IGNORE, DateFormat, Kind
from .models import ImportJob
from .reader import MAX_FILE_BYTES


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.CHOICES, initial=Kind.ACCOUNTS, widget=forms.RadioSelect, label="Import")
    file = forms.FileField(
        help_text=f"CSV text (UTF-8, Latin-1 or UTF-16; comma, semicolon, tab or bar), at most "
        f"{MAX_FILE_BYTES // 1024**2} MB. The first line names the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
    )


class ImportMappingForm(forms.Form):
    """One choice per column of the file: the Baton field it fills, or ignored."""

    date_format = forms.ChoiceField(choices=DateFormat.CHOICES, label="Dates in this file are written")
    save_as = forms.CharField(
        max_length=100,
        required=False,
        label="Save this mapping for the source",
        help_text="E.g. “CRM export”: the next file with these columns is mapped the same way.",
    )

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"date_format": job.date_format})
        super().__init__(*args, **kwargs)
        self.job = job
        choices = [(IGNORE, "— ignore this column —"), *[(field.name, field.label) for field in FIELDS[job.kind]]]
        self.columns: list[tuple[str, str]] = []
        for position, column in enumerate(job.header):
            name = f"column_{position}"
            self.fields[name] = forms.ChoiceField(
                choices=choices,
                required=False,
                label=column or f"(column {position + 1})",
                initial=job.mapping.get(column, IGNORE),
            )
            self.columns.append((name, column))

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data.get(name) or IGNORE for name, column in self.columns}
