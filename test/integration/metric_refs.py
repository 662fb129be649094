"""Checks that every metric and label name the Grafana dashboard and the
Prometheus alerts refer to exists in real /metrics scrapes of ingot.

Usage: metric_refs.py DASHBOARD.json ALERTS.yml SCRAPE...
Prints one line per reference checked ("ok ..." or "missing ..."), then
"N references, M missing"; exits 1 when one is missing.

The PromQL is read with a small tokenizer, enough for the expressions we
write (selectors, by/without/on/ignoring/group_* clauses, functions,
operators); a name it cannot place is reported, never skipped.
"""
import json
import re
import sys

import yaml

# Labels Prometheus adds to every scraped series (not in /metrics itself).
TARGET_LABELS = {"job", "instance"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "offset", "inf", "nan"}
AGGREGATIONS = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk",
                "quantile", "count_values", "group"}


def parse_scrapes(paths):
    """{series name: set of label names} over every scrape."""
    series = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+')
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                m = line_re.match(line)
                if not m:
                    raise SystemExit(f"{p}: cannot read line {line!r}")
                labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
                series.setdefault(m.group(1), set()).update(labels)
    return series


def refs(expr):
    """(metrics, selector label refs [(metric, label)], grouping labels) of a PromQL expression."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals: values, not names
    e = re.sub(r'\[[^\]]*\]', ' ', e)              # range and subquery durations
    metrics, sel, group = [], [], []
    for m in re.finditer(r'\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)', e):
        group += [x.strip() for x in m.group(2).split(",") if x.strip()]
    e = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', e)
    for m in re.finditer(r'([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}', e):
        name = m.group(1)
        for lab in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)', m.group(2)):
            sel.append((name, lab))
    e = re.sub(r'\{[^}]*\}', ' ', e)
    for m in re.finditer(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?', e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS or word in AGGREGATIONS:
            continue
        metrics.append(word)
    return metrics, sel, group


def main():
    dash_path, alerts_path, scrapes = sys.argv[1], sys.argv[2], sys.argv[3:]
    series = parse_scrapes(scrapes)
    exprs = []  # (where, expr)
    with open(dash_path, encoding="utf-8") as f:
        dash = json.load(f)
    for p in dash["panels"]:
        for t in p.get("targets", []):
            exprs.append((f"panel {p['title']!r} {t['refId']}", t["expr"]))
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        m = re.fullmatch(r'label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)', v["definition"])
        if not m:
            print(f"missing: variable {v['name']}: not label_values(SELECTOR, LABEL)")
            return 1
        exprs.append((f"variable {v['name']}", m.group(1)))
        metric = re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', m.group(1)).group(0)
        exprs.append((f"variable {v['name']} label", f'{metric}{{{m.group(2)}=""}}'))
    with open(alerts_path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    for g in rules["groups"]:
        for r in g["rules"]:
            exprs.append((f"alert {r['alert']}", r["expr"]))

    checked = missing = 0

    def report(ok, what):
        nonlocal checked, missing
        checked += 1
        if not ok:
            missing += 1
        print(("ok      " if ok else "missing ") + what)

    for where, expr in exprs:
        metrics, sel, group = refs(expr)
        if not metrics:
            report(False, f"{where}: no metric found in {expr!r}")
        for name in metrics:
            report(name in series, f"{where}: metric {name}")
        for name, lab in sel:
            if lab in TARGET_LABELS:
                continue
            have = series.get(name, set()) if name else set().union(*(series.get(n, set()) for n in metrics))
            report(lab in have, f"{where}: label {lab} on {name or 'the expression'}")
        for lab in group:
            if lab in TARGET_LABELS:
                continue
            have = set().union(*(series.get(n, set()) for n in metrics))
            report(lab in have, f"{where}: grouping label {lab}")
    print(f"{checked} references, {missing} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
