#!/usr/bin/env python3
"""Parses OpenMetrics bodies with prometheus_client's strict parser.

Reads a JSON array of bodies on stdin; writes a JSON array with, for each,
{"error": "..."} or {"families": [...]}: every family's name, type, help and
unit, and its samples with labels, value and exemplar. Numbers are written
as Python's repr of the parsed value, so the caller compares them exactly.
Used by tests/families.rs.
"""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def parse(body):
    try:
        families = []
        for f in text_string_to_metric_families(body):
            samples = []
            for s in f.samples:
                ex = None
                if s.exemplar is not None:
                    ex = {"labels": s.exemplar.labels, "value": repr(float(s.exemplar.value))}
                samples.append({"name": s.name, "labels": s.labels,
                                "value": repr(float(s.value)), "exemplar": ex})
            families.append({"name": f.name, "type": f.type, "help": f.documentation,
                             "unit": f.unit, "samples": samples})
        return {"families": families}
    except Exception as e:  # the parser raises ValueError and others
        return {"error": f"{type(e).__name__}: {e}"}


json.dump([parse(b) for b in json.load(sys.stdin)], sys.stdout)
