"""A Sphinx extension of the book (`_config.yml`): every chapter is offered as Markdown too.

sphinx-book-theme's download menu offers a page's source (the executed chapters' ``.ipynb``,
the method pages' ``.md``) and print-to-PDF. For each page built from a notebook this adds
the chapter as one Markdown file, ``_sources/<page>.md`` beside the ``.ipynb``: its text, code
and outputs, the figures inline (data URIs), without the cells the site removes (the
parameters); converted by nbconvert when the page is written, and a ``.md`` entry in the menu.
`omglib.book.check_site` fails a page whose downloads are missing.
"""

from __future__ import annotations

from pathlib import Path


def chapter_markdown(notebook: str | Path) -> str:
    """An (executed) notebook as one Markdown document, as the site shows it."""
    from nbconvert import MarkdownExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {"remove-cell"}
    config.TagRemovePreprocessor.remove_input_tags = {"remove-input"}
    config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
    config.ExtractOutputPreprocessor.enabled = False  # figures stay in the file, so one download is the whole chapter
    body, _ = MarkdownExporter(config=config).from_filename(str(notebook))
    return body


def add_markdown_download(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """For a notebook page: write ``_sources/<page>.md`` and list it after the ``.ipynb``."""
    if context.get("page_source_suffix") != ".ipynb":
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(chapter_markdown(app.env.doc2path(pagename)), encoding="utf-8")
    button = {"type": "link", "url": f"{context['pathto']('_sources', 1)}/{pagename}.md", "text": ".md",
              "tooltip": "Download the chapter as Markdown", "icon": "fab fa-markdown",
              "label": "download-markdown-button"}
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            labels = [b.get("label") for b in group["buttons"]]
            at = labels.index("download-source-button") + 1 if "download-source-button" in labels else len(labels)
            group["buttons"].insert(at, button)


def setup(app) -> dict:
    # sphinx-book-theme builds the download menu at priority 501; this runs after it
    app.connect("html-page-context", add_markdown_download, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
