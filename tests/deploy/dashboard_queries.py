#!/usr/bin/env python3
"""Runs every query of a Grafana dashboard against a real Prometheus, as
Grafana would: the variables are resolved first (label_values through the
series API, the first value chosen), substituted into each panel's
expression with $__rate_interval, and each query must succeed with data.

    dashboard_queries.py DASHBOARD.json http://127.0.0.1:PORT RATE_INTERVAL
"""
import json
import re
import sys
import urllib.parse
import urllib.request


def get(base, path, params):
    url = f"{base}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"{path} {params}: {body}")
    return body["data"]


def substitute(text, values):
    return re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), text)


def main():
    dashboard, base, interval = sys.argv[1], sys.argv[2], sys.argv[3]
    d = json.load(open(dashboard))
    values = {"__rate_interval": interval}
    for v in d["templating"]["list"]:
        if v["type"] != "query":
            continue
        q = substitute(v["query"]["query"], values)
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q)
        series, label = m.group(1), m.group(2)
        found = sorted({s[label] for s in get(base, "/api/v1/series", {"match[]": series}) if label in s})
        if not found:
            print(f"FAIL variable {v['name']}: {q} has no values")
            return 1
        # A regex matcher's value, inside a PromQL string: backslashes doubled.
        values[v["name"]] = re.escape(found[0]).replace("\\", "\\\\")
        print(f"ok   variable {v['name']} = {found[0]} (of {len(found)})")
    failed = 0
    for p in d["panels"]:
        for t in p.get("targets", []):
            expr = substitute(t["expr"], values)
            try:
                result = get(base, "/api/v1/query", {"query": expr})["result"]
            except Exception as e:  # a bad query: Prometheus says why
                result, err = [], str(e)
            else:
                err = "no data"
            if result:
                print(f"ok   {p['title']} [{t['refId']}]: {len(result)} series")
            else:
                failed += 1
                print(f"FAIL {p['title']} [{t['refId']}]: {err}\n     {expr}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
