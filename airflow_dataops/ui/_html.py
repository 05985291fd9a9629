"""The overview page as server-rendered HTML, from the same plain data the JSON route returns.

No JavaScript and no build step: one HTML document with inline CSS, every value escaped.
Elements carry ``data-*`` attributes (target name, health, decision task) so that
scripts and tests can find them without depending on the layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import urlencode

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.2rem;color:#1b1f23;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.meta{color:#57606a;font-size:.85rem}table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.1rem .45rem;border-radius:.6rem;font-size:.75rem;font-weight:600}
.reachable{background:#dafbe1;color:#116329}.unreachable{background:#ffebe9;color:#a40e26}
.not-probed{background:#eaeef2;color:#57606a}.over{color:#a40e26;font-weight:600}
pre{margin:0;font-size:.78rem;white-space:pre-wrap}.error{background:#ffebe9;padding:.5rem;border-radius:.3rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d0d7de;border-radius:.4rem;padding:.6rem .9rem}
.card b{display:block;font-size:1.2rem}
"""


def _money(value: Any) -> str:
    return "-" if value is None else f"${float(value):,.4f}"


def _num(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def _table(headers: Iterable[str], rows: Iterable[str], empty: str) -> str:
    body = "".join(rows)
    if not body:
        return f"<p class='meta'>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _prices(prices: Mapping[str, Any]) -> str:
    parts = [f"vCPU {_money(prices['vcpu_hour'])}/h", f"GiB {_money(prices['gib_hour'])}/h"]
    parts += [f"{escape(str(gpu))} {_money(rate)}/h" for gpu, rate in sorted(prices["gpu_hour"].items())]
    return "<br>".join(parts) + f"<br><span class='meta'>{escape(str(prices['market']))}</span>"


def _capacity(pools: Iterable[Mapping[str, Any]]) -> str:
    lines = []
    for pool in pools:
        alloc, free = pool["allocatable"], pool["free"]
        declared = f"{pool['nodes']} x {_num(alloc['cpu'], 2)} CPU, {_num(alloc['memory_gib'])} GiB"
        if alloc["gpus"]:
            declared += f", {alloc['gpus']} x {escape(str(pool['gpu_type']))}"
        now = (
            f"free now {_num(free['cpu'], 2)} CPU, {_num(free['memory_gib'])} GiB, {free['gpus']} GPU"
            if free
            else "free now: unknown"
        )
        lines.append(f"<b>{escape(pool['name'])}</b>: {declared}<br><span class='meta'>{now}</span>")
    return "<br>".join(lines)


def _target_row(t: Mapping[str, Any], anchor: bool = True) -> str:
    health = t["health"]
    badge = f"<span class='badge {health.replace(' ', '-')}'>{escape(health)}</span>"
    if t["reason"]:
        badge += f"<br><span class='meta reason'>{escape(t['reason'])}</span>"
    load = "-"
    if t["running_tasks"] is not None:
        limit = t["concurrency"] if t["concurrency"] is not None else "no limit"
        load = f"{t['running_tasks']} running / {limit}, {t['pending_pods']} pending"
        if t["load"] is not None:
            load += f" ({t['load']:.0%})"
    latency = f"{t['latency_ms']:.0f} ms" if t["latency_ms"] is not None else "-"
    where = escape(f"{t['kind']}, {t['provider']}, {t['region']}")
    row_id = f" id='target-{escape(t['name'])}'" if anchor else ""
    return (
        f"<tr{row_id} data-target='{escape(t['name'])}' data-health='{escape(health)}'>"
        f"<td><b>{escape(t['name'])}</b><br><span class='meta'>{where}</span></td>"
        f"<td>{badge}</td><td class='num'>{latency}</td><td>{_capacity(t['pools'])}</td><td>{escape(load)}</td>"
        f"<td>{_prices(t['prices'])}</td><td class='num'>{_money(t['spend_today'])}</td></tr>"
    )


def _moment(iso: str | None) -> str:
    """An ISO timestamp (UTC) as ``YYYY-MM-DD HH:MM:SS UTC``."""
    return f"{iso[:19].replace('T', ' ')} UTC" if iso else "-"


def _mlflow_link(row: Mapping[str, Any], mlflow: Mapping[str, Any]) -> str:
    if not mlflow.get("browsable"):
        return ""
    query = urlencode({k: row[k] for k in ("dag_id", "run_id", "task_id", "map_index", "try_number")})
    return f"<br><a href='mlflow/run?{escape(query)}' target='_blank' rel='noopener'>MLflow run</a>"


def _decision_row(d: Mapping[str, Any], mlflow: Mapping[str, Any]) -> str:
    task = f"{d['task_id']}" + (f"[{d['map_index']}]" if d["map_index"] >= 0 else "")
    steps = [escape(f["target"]) + (f" <span class='meta'>({escape(f['fault'])})</span>" if f["fault"] else "")
             for f in d["failovers"]]  # fmt: skip
    failover = " &rarr; ".join([*steps, f"<b>{escape(d['ran_on'] or 'none left')}</b>"]) if steps else "none"
    return (
        f"<tr class='decision' data-dag='{escape(d['dag_id'])}' data-task='{escape(d['task_id'])}' "
        f"data-chosen='{escape(d['chosen'])}'>"
        f"<td>{escape(_moment(d['start']))}<br><span class='meta'>{escape(str(d['state'] or ''))}</span></td>"
        f"<td><b>{escape(d['dag_id'])}</b><br>{escape(task)} try {d['try_number']}"
        f"<br><span class='meta'>{escape(d['run_id'])}</span>{_mlflow_link(d, mlflow)}</td>"
        f"<td><b>{escape(d['ran_on'] or 'no target')}</b></td><td>{failover}</td>"
        f"<td class='num'>{_money(d['hourly_price'])}/h<br>{_money(d['spend'])}</td>"
        f"<td><pre class='explanation'>{escape(d['explanation'])}</pre></td></tr>"
    )


def _spend_section(spend: Mapping[str, Any]) -> str:
    today, window = spend["today"], spend["window"]
    cards = (
        f"<div class='cards'><div class='card' id='spend-today'>today (UTC)<b>{_money(today['total'])}</b>"
        f"pods {_money(today['pods'])}, quantum {_money(today['quantum'])}</div>"
        f"<div class='card'>window<b>{_money(window['total'])}</b>"
        f"pods {_money(window['pods'])}, quantum {_money(window['quantum'])}</div></div>"
    )
    rows = [
        f"<tr data-dag='{escape(dag)}'><td>{escape(dag)}</td><td class='num'>{_money(v['today']['total'])}</td>"
        f"<td class='num'>{_money(v['window']['total'])}</td><td class='num'>{_money(v['window']['pods'])}</td>"
        f"<td class='num'>{_money(v['window']['quantum'])}</td></tr>"
        for dag, v in spend["per_dag"].items()
    ]
    table = _table(
        ["DAG", "today", "window", "pods (window)", "quantum (window)"], rows, "No task recorded a spend yet."
    )
    return cards + "<h3>Per DAG</h3>" + table


def _quantum_section(quantum: Mapping[str, Any]) -> str:
    budget = quantum["daily_budget"]
    spent = quantum["spent_today"]
    over = budget is not None and spent > budget
    line = f"Quantum spend today: <b class='{'over' if over else ''}'>{_money(spent)}</b>"
    line += f" of a daily budget of {_money(budget)}" if budget is not None else " (no daily budget configured)"
    rows = []
    for run in quantum["runs"]:
        tasks = "<br>".join(
            f"{escape(t['task_id'])} on {escape(str(t['backend'] or '-'))}: {_money(t['cost'])}"
            f" (max_cost {_money(t['max_cost'])})"
            for t in run["tasks"]
        )
        flag = "over" if run["over_budget"] else ""
        rows.append(
            f"<tr data-dag='{escape(run['dag_id'])}'><td>{escape(run['dag_id'])}<br>"
            f"<span class='meta'>{escape(run['run_id'])}</span></td>"
            f"<td class='num {flag}'>{_money(run['spent'])}</td><td class='num'>{_money(run['run_budget'])}</td>"
            f"<td>{tasks}</td></tr>"
        )
    table = _table(["DAG run", "spent", "run_budget", "tasks (cost, max_cost)"], rows, "No quantum task ran.")
    return f"<p>{line}</p>" + table


def _mlflow_section(mlflow: Mapping[str, Any]) -> str:
    if mlflow.get("error"):
        return f"<p class='meta'>Lineage to MLflow is off: {escape(mlflow['error'])}</p>"
    uri = escape(mlflow["tracking_uri"])
    if mlflow["browsable"]:
        return (
            f"<p>Connection <code>{escape(mlflow['conn_id'])}</code>: "
            f"<a id='mlflow-ui' href='{uri}' target='_blank' rel='noopener'>{uri}</a>. Each decision links to its "
            "task's MLflow run (found by the <code>airflow_dataops.key</code> tag).</p>"
        )
    return (
        f"<p>Connection <code>{escape(mlflow['conn_id'])}</code>: a local store, <code>{uri}</code>; "
        f"open it with <code>mlflow ui --backend-store-uri {uri}</code>.</p>"
    )


def _declaration_section(declaration: Mapping[str, Any], anchored: set[str]) -> str:
    """One declaration's heading, its error if it has one, and its targets' rows.

    A row's anchor is ``target-<name>`` (what the "Supercluster target" link opens); a name
    declared again in a later declaration gets no second anchor (ids are unique).
    """
    section = f"<h3 class='declaration'>Declaration <code>{escape(declaration['path'])}</code></h3>"
    if declaration["error"]:
        section += f"<p class='error declaration-error'>{escape(declaration['error'])}</p>"
    rows = []
    for target in declaration["targets"]:
        rows.append(_target_row(target, anchor=target["name"] not in anchored))
        anchored.add(target["name"])
    return section + _table(
        ["target", "health", "probe", "capacity (declared / free now)", "load", "declared price", "spend today"],
        rows,
        "The declaration has no targets.",
    )


def render(overview: Mapping[str, Any]) -> str:
    """The whole page."""
    anchored: set[str] = set()
    targets = "".join(_declaration_section(d, anchored) for d in overview["declarations"])
    mlflow = overview["mlflow"]
    decisions = _table(
        ["started", "task", "ran on", "failovers", "price / spend", "explanation"],
        (_decision_row(d, mlflow) for d in overview["decisions"]),
        "No placement decision recorded in the window.",
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Supercluster</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>Supercluster</h1>"
        f"<p class='meta'>{len(overview['declarations'])} supercluster declaration(s); "
        f"probed with a {overview['probe_timeout']:g} s timeout at {escape(overview['generated_at'])}; "
        f"spend and decisions of the last {overview['window_days']} days. Read-only.</p>"
        f"<h2>Targets</h2>{targets}"
        f"<h2>Spend</h2>{_spend_section(overview['spend'])}"
        f"<h2>Recent placement decisions</h2>{decisions}"
        f"<h2>Quantum spend and budgets</h2>{_quantum_section(overview['quantum'])}"
        f"<h2>MLflow</h2>{_mlflow_section(mlflow)}"
        "</body></html>"
    )
