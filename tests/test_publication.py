"""What makes the book citable and publishable: licence, citation file, repository link,
downloads, CI."""

import json
import re
import subprocess
import sys

import yaml

from omglib.provenance import REPO


def test_licence_and_citation_file():
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert {"title", "authors", "message", "license"} <= set(citation)
    assert "repository-code" not in citation  # the URL has one home: _config.yml or $OMG_REPOSITORY_URL
    assert set(citation["license"]) == {"MIT", "CC-BY-4.0"}
    paper = citation["references"][0]
    assert paper["title"].startswith("Exploiting multi-CNN features") and "cite" in citation["message"]


def test_site_links_the_repository_and_states_the_licence():
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    # one home for the URL, empty until published: `omg book` then shows no button (test_book_env)
    assert config["html"]["use_repository_button"] and config["repository"]["url"] == ""
    assert "omglib-a11y.js" in config["sphinx"]["config"]["html_js_files"]
    assert "CC BY 4.0" in config["html"]["extra_footer"]
    assert (REPO / "book" / "_static" / config["sphinx"]["config"]["html_css_files"][0]).is_file()
    assert "omglib.sphinx_downloads" in config["sphinx"]["extra_extensions"]  # each chapter as .md too
    assert config["html"].get("use_download_button", True)


def test_a_chapter_downloads_as_one_markdown_file_as_the_site_shows_it(tmp_path):
    from omglib.sphinx_downloads import chapter_markdown

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    cells = [{"id": "text", "cell_type": "markdown", "metadata": {}, "source": "# Chapter\n\nSome *text*."},
             {"id": "parameters", "cell_type": "code", "metadata": {"tags": ["injected-parameters", "remove-cell"]},
              "execution_count": 1, "source": "data_root = '/home/someone/data'", "outputs": []},
             {"id": "figure", "cell_type": "code", "metadata": {}, "execution_count": 2, "source": "plot()",
              "outputs": [{"output_type": "stream", "name": "stdout", "text": "CCC 0.5\n"},
                          {"output_type": "display_data", "metadata": {},
                           "data": {"image/png": png, "text/plain": "<Figure>"}}]}]
    notebook = tmp_path / "chapter.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    text = chapter_markdown(notebook)
    assert "# Chapter" in text and "plot()" in text and "CCC 0.5" in text
    assert f"data:image/png;base64,{png}" in text  # the figure inside the one file
    assert "/home/someone" not in text  # the cells the site removes are removed


def test_workflow_tests_then_deploys_the_quick_site_on_main_with_its_results_cached():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "book.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any(r.startswith("make test") for r in runs) and any("make book PROFILE=quick" in r for r in runs)
    book = next(s for s in steps if "make book" in s.get("run", ""))
    assert book["env"]["OMG_REPOSITORY_URL"] == "${{ github.server_url }}/${{ github.repository }}"
    cache = next(s for s in steps if "results" in s.get("with", {}).get("path", ""))
    assert "steps.digest.outputs.code" in cache["with"]["key"] and cache["with"]["restore-keys"] == "quick-"
    digest = next(s for s in steps if s.get("id") == "digest")  # the code digest, computed as omg computes it
    code = digest["run"].split("-c '", 1)[1].split("')", 1)[0]
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert re.fullmatch(r"[0-9a-f]{12}\n", printed), printed
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact") for s in steps)
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "test" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages")
