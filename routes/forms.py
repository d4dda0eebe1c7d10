from __future__ import annotations

from django import forms

from llm.chain import GREEDY


class RunFilterForm(forms.Form):
    """Filters of the run history (GET /api/runs)."""

    page = forms.IntegerField(min_value=1, required=False)
    model = forms.SlugField(max_length=20, required=False, help_text=f"qwen, tpro, llama, {GREEDY}")

    def errors_as_list(self) -> list[dict[str, str]]:
        return [
            {"field": field, "message": " ".join(messages)}
            for field, messages in self.errors.items()
        ]
