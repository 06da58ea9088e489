"""CITATION.cff: valid Citation File Format 1.2.0, citing the paper first and agreeing with the package (issue 24).

``cffconvert --validate`` (the format's reference validator) pins ``jsonschema<4``, which
this environment's other tools outgrow, so it is not a dependency: when it is installed
the last test runs it; the other tests check what its 1.2.0 schema requires by hand
(required keys, types, the closed set of keys, the formats of DOIs, URLs, dates and
licences) and that the file agrees with the package (version, licence, paper, authors).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml  # PyYAML: installed with dask, a dependency

import innmf

ROOT = Path(__file__).resolve().parents[1]

# CFF 1.2.0 (schema.json): the keys of the root object and of a reference; no others are allowed
ROOT_KEYS = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi", "identifiers", "keywords",
             "license", "license-url", "message", "preferred-citation", "references", "repository", "repository-artifact",
             "repository-code", "title", "type", "url", "version"}
ROOT_REQUIRED = {"authors", "cff-version", "message", "title"}
REFERENCE_REQUIRED = {"authors", "title", "type"}
REFERENCE_TYPES = {"art", "article", "audiovisual", "bill", "blog", "book", "catalogue", "conference", "conference-paper",
                   "data", "database", "dictionary", "edited-work", "encyclopedia", "film-broadcast", "generic",
                   "government-document", "grant", "hearing", "historical-work", "legal-case", "legal-rule", "magazine-article",
                   "manual", "map", "multimedia", "music", "newspaper-article", "pamphlet", "patent", "personal-communication",
                   "proceedings", "report", "serial", "slides", "software", "software-code", "software-container",
                   "software-executable", "software-virtual-machine", "sound-recording", "standard", "statute", "thesis",
                   "unpublished", "video", "website"}
PERSON_KEYS = {"address", "affiliation", "alias", "city", "country", "email", "family-names", "fax", "given-names",
               "name-particle", "name-suffix", "orcid", "post-code", "region", "tel", "website"}
ENTITY_KEYS = {"address", "alias", "city", "country", "date-end", "date-start", "email", "fax", "location", "name", "orcid",
               "post-code", "region", "tel", "website"}
DOI = re.compile(r"^10\.\d{4,9}(\.\d+)?/[A-Za-z0-9:/_;\-\.\(\)\[\]\\]+$")  # the schema's pattern
URL = re.compile(r"^(https|http|ftp|sftp)://.+")


@pytest.fixture(scope="module")
def cff() -> dict:
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _check_authors(authors, where: str) -> None:
    assert isinstance(authors, list) and authors, f"{where}: authors must be a non-empty list"
    for person in authors:
        assert isinstance(person, dict) and person, f"{where}: each author is a mapping"
        keys = set(person)
        assert keys <= PERSON_KEYS or keys <= ENTITY_KEYS, f"{where}: unknown author keys {keys - PERSON_KEYS - ENTITY_KEYS}"
        assert all(isinstance(v, str) and v.strip() for v in person.values()), f"{where}: author fields are strings"


def _check_common(entry: dict, where: str) -> None:
    for key in ("doi",):
        if key in entry:
            assert isinstance(entry[key], str) and DOI.match(entry[key]), f"{where}: bad doi {entry[key]!r}"
    for key in ("url", "repository-code", "repository", "license-url"):
        if key in entry:
            assert isinstance(entry[key], str) and URL.match(entry[key]), f"{where}: bad {key} {entry[key]!r}"
    for ident in entry.get("identifiers", []):
        assert ident["type"] in {"doi", "url", "swh", "other"} and isinstance(ident["value"], str)
        pattern = {"doi": DOI, "url": URL}.get(ident["type"])
        assert pattern is None or pattern.match(ident["value"]), f"{where}: bad identifier {ident}"
    if "date-released" in entry:
        assert isinstance(entry["date-released"], str) and re.match(r"^\d{4}-\d{2}-\d{2}$", entry["date-released"])


def test_the_root_has_cffs_required_keys_and_no_others(cff):
    assert ROOT_REQUIRED <= set(cff), ROOT_REQUIRED - set(cff)
    assert set(cff) <= ROOT_KEYS, set(cff) - ROOT_KEYS
    assert cff["cff-version"] == "1.2.0"  # a string: 1.2.0 unquoted is one in YAML
    assert isinstance(cff["message"], str) and cff["message"].strip()
    assert isinstance(cff["title"], str) and cff["title"].strip()
    assert cff.get("type", "software") in {"software", "dataset"}
    _check_authors(cff["authors"], "root")
    _check_common(cff, "root")
    assert isinstance(cff["version"], str) and all(isinstance(k, str) for k in cff.get("keywords", []))


def test_the_preferred_citation_is_the_paper(cff):
    paper = cff["preferred-citation"]
    assert REFERENCE_REQUIRED <= set(paper) and paper["type"] in REFERENCE_TYPES
    _check_authors(paper["authors"], "preferred-citation")
    _check_common(paper, "preferred-citation")
    assert paper["title"] == "Rethinking Non-Negative Matrix Factorization with Implicit Neural Representations"
    assert [a["family-names"] for a in paper["authors"]] == ["Subramani", "Smaragdis", "Higuchi", "Souden"]
    assert paper["doi"] == "10.48550/arXiv.2404.04439" and "2404.04439" in paper["url"]
    assert paper["type"] == "conference-paper" and paper["year"] == 2025 and "WASPAA" in paper["conference"]["name"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "arXiv:2404.04439" in readme and all(a["family-names"] in readme for a in paper["authors"])


def test_the_file_agrees_with_the_package(cff):
    assert cff["version"] == innmf.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    licences = cff["license"] if isinstance(cff["license"], list) else [cff["license"]]
    # CFF takes SPDX-listed identifiers only: the package's LicenseRef-* parts (data with their
    # own terms, described in its README) cannot be named there
    listed = [part.strip() for part in project["license"].split(" AND ") if not part.strip().startswith("LicenseRef-")]
    assert licences == listed
    assert all(re.fullmatch(r"[A-Za-z0-9.+-]+", licence) for licence in licences)  # SPDX identifiers


def test_the_checks_catch_a_broken_file(cff):
    broken = {k: v for k, v in cff.items() if k != "title"}
    with pytest.raises(AssertionError):
        test_the_root_has_cffs_required_keys_and_no_others(broken)
    with pytest.raises(AssertionError):
        _check_common({"doi": "arXiv:2404.04439"}, "doi")
    with pytest.raises(AssertionError):
        _check_authors([{"surname": "Subramani"}], "authors")


def test_cffconvert_validates_it_when_installed():
    validate = pytest.importorskip("cffconvert.cli.create_citation").create_citation
    citation = validate(str(ROOT / "CITATION.cff"), None)
    citation.validate()  # raises on any schema violation
