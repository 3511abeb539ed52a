"""Text from trials, files and journals reaches a terminal shown, never obeyed.

A trial's stderr, a param's value, a note or a study name may hold escape sequences (set the window title,
clear the screen) or bytes that move the cursor; every place that prints such text passes it through
`safe_text` first. Markup (rich's and Textual's `[red]`, `[/]`) is the printer's business: they take it as
plain text (rich `Text`, `markup=False`, Textual `Content.from_markup` variables). JSON needs neither:
our `dumps` writes ASCII only.
"""

from __future__ import annotations


def safe_text(text: object, *, lines: bool = False) -> str:
    """`text` with every character a terminal would obey or not show written out as Python writes it (ESC as
    the four characters `\\x1b`, a right-to-left override as `\\u202e`); newlines too unless `lines`, so
    a one-line place stays one line."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or (lines and c == "\n") else repr(c)[1:-1] for c in text)



def markup_escape(text: object) -> str:
    """`safe_text`, with every `[` escaped: for a piece of text put into a Textual markup string. Textual
    reads `[$accent]`, `[B]` and `[ b]` as tags where rich's `escape` sees none; `\\[` is always a bracket,
    so a last backslash, which would hide the tag after it, gets a space."""
    text = safe_text(text).replace("[", "\\[")
    return f"{text} " if text.endswith("\\") else text
