"""JUnit XML reports checked as their consumers read them: against the published Jenkins xUnit
junit-10.xsd (tests/data/junit-10.xsd, see tests/data/SOURCES.md) and through junitparser, a
real reader whose suites read the counts as whole numbers (the XSD takes any text there)."""
from __future__ import annotations

from pathlib import Path

import junitparser
from lxml import etree

SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "junit-10.xsd"
SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def parse_junit(text: str) -> etree._Element:
    """The report's root element, once the schema and junitparser both accept it; raises
    etree.DocumentInvalid or AssertionError (ValueError from junitparser) otherwise."""
    data = text.encode("utf-8")
    doc = etree.fromstring(data)
    SCHEMA.assertValid(doc)
    read = junitparser.JUnitXml.fromstring(data)
    suites = [read] if isinstance(read, junitparser.TestSuite) else list(read)
    for suite in suites:
        cases = list(suite)
        results = [type(r).__name__ for case in cases for r in case.result]
        counted = (suite.tests, suite.failures, suite.errors, suite.skipped or 0)  # ints, or ValueError
        assert counted == (len(cases), results.count("Failure"), results.count("Error"), results.count("Skipped")), (
            suite.name, counted, results)
    return doc
