#!/usr/bin/env python3
"""Lints a Grafana dashboard with grafana/dashboard-linter's rules (that tool
is Go and not packaged here): one Prometheus datasource variable named
datasource; job and instance variables on it, multi-select with allValue .+;
every target on $datasource and matching job and instance; rate, irate and
increase over [$__rate_interval]; every counter inside one of them; every
panel with a title, a description and a known unit.

    tools/lint-dashboard.py deploy/grafana/hotalloc.json
"""
import json
import re
import sys

UNITS = {"short", "none", "bytes", "decbytes", "Bps", "ops", "reqps", "s", "ms", "percentunit", "percent"}
UNIT_PANELS = {"stat", "graph", "table", "timeseries", "gauge", "bargauge"}


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


def lint(d):
    problems = []
    say = problems.append
    if d.get("uid") != "hotalloc" and not d.get("uid"):
        say("dashboard has no uid")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    sources = [v for v in variables.values() if v.get("type") == "datasource"]
    if len(sources) != 1 or sources[0]["name"] != "datasource" or sources[0].get("query") != "prometheus":
        say("needs exactly one datasource variable, named datasource, of type prometheus")
    elif sources[0].get("label") != "Data source":
        say("the datasource variable's label should be 'Data source'")
    for name in ("job", "instance"):
        v = variables.get(name)
        if not v:
            say(f"no {name} variable")
            continue
        if v.get("datasource", {}).get("uid") != "${datasource}":
            say(f"variable {name} does not use $datasource")
        if not v.get("multi") or v.get("allValue") != ".+":
            say(f"variable {name} must be multi-select with allValue .+")
    for p in panels(d.get("panels", [])):
        kind, title = p.get("type"), p.get("title", "")
        if kind == "row":
            continue
        where = f"panel {title or p.get('id')!r}"
        if not title:
            say(f"{where}: no title")
        if not p.get("description"):
            say(f"{where}: no description")
        if kind in UNIT_PANELS and p.get("fieldConfig", {}).get("defaults", {}).get("unit") not in UNITS:
            say(f"{where}: unit {p.get('fieldConfig', {}).get('defaults', {}).get('unit')!r} is not one of {sorted(UNITS)}")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            say(f"{where}: does not use $datasource")
        for t in p.get("targets", []):
            expr = t.get("expr", "")
            if t.get("datasource", {}).get("uid") != "${datasource}":
                say(f"{where}: target {t.get('refId')} does not use $datasource")
            for sel in re.findall(r"hotalloc_[a-z_]+\{([^}]*)\}", expr):
                if 'job=~"$job"' not in sel or 'instance=~"$instance"' not in sel:
                    say(f"{where}: selector {{{sel}}} does not match job and instance")
            for fn, window in re.findall(r"\b(rate|irate|increase)\((?:[^()\[]|\([^()]*\))*\[([^\]]*)\]", expr):
                if window != "$__rate_interval":
                    say(f"{where}: {fn} over [{window}], not [$__rate_interval]")
            for counter in re.finditer(r"hotalloc_[a-z_]+_total\b", expr):
                before = expr[: counter.start()]
                if not re.search(r"\b(rate|irate|increase)\($", before):
                    say(f"{where}: counter {counter.group()} outside rate/irate/increase")
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems = lint(json.load(open(sys.argv[1])))
    for p in problems:
        print(f"{sys.argv[1]}: {p}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
