#!/usr/bin/env python3
"""Writes docs/grafana/urr.json: URR's Grafana dashboard, built on the metric names of
docs/operations.md#metrics. Edit the panels here and run `python3 docs/grafana/build.py`;
tests/api/metrics.rs checks that every metric the dashboard queries is one the node
exports."""

import json
import pathlib

PANELS = [
    # (title, unit, [(expr, legend)], kind)
    ("Requests per second by route", "reqps",
     [("sum by (route) (rate(urr_http_requests_total[1m]))", "{{route}}")], "timeseries"),
    ("5xx per second", "reqps",
     [('sum by (route) (rate(urr_http_requests_total{status="5xx"}[1m]))', "{{route}}")], "timeseries"),
    ("Latency p99 by route", "s",
     [("histogram_quantile(0.99, sum by (le, route) (rate(urr_http_request_duration_seconds_bucket[5m])))", "{{route}}")], "timeseries"),
    ("Tier-1: waiting, pre-queue, let through", "short",
     [("sum by (event) (urr_tier1_waiting)", "waiting {{event}}"),
      ("sum by (event) (urr_tier1_pre_queue)", "pre-queue {{event}}"),
      ("sum by (event) (urr_tier1_serving)", "serving {{event}}")], "timeseries"),
    ("Tier-1 joins per second", "ops",
     [("sum by (event) (rate(urr_tier1_joins_total[1m]))", "{{event}}")], "timeseries"),
    ("Tier-2: waiting and active", "short",
     [("sum by (event) (urr_event_waiting)", "waiting {{event}}"),
      ("sum by (event) (urr_event_active)", "active {{event}}")], "timeseries"),
    ("Admitted per second", "ops",
     [("sum by (event) (rate(urr_event_admitted_total[1m]))", "{{event}}")], "timeseries"),
    ("Seats by state", "short",
     [("sum by (event, state) (urr_event_seats)", "{{state}} {{event}}")], "timeseries"),
    ("Holds per second by outcome", "ops",
     [("sum by (outcome) (rate(urr_event_holds_total[1m]))", "{{outcome}}")], "timeseries"),
    ("Payments per second by outcome", "ops",
     [("sum by (provider, outcome) (rate(urr_payments_total[1m]))", "{{provider}} {{outcome}}")], "timeseries"),
    ("Group commit: batch size p50 and latency p99", "short",
     [("histogram_quantile(0.5, sum by (le, kind) (rate(urr_actor_commit_batch_bucket[5m])))", "batch {{kind}}"),
      ("histogram_quantile(0.99, sum by (le, kind) (rate(urr_actor_commit_seconds_bucket[5m])))", "p99 s {{kind}}")], "timeseries"),
    ("Actor mailboxes, calls in flight, restarts", "short",
     [("max by (event) (urr_actor_mailbox_depth)", "mailbox {{event}}"),
      ("sum(urr_actor_calls_in_flight)", "in flight"),
      ("sum(increase(urr_actor_restarts_total[5m]))", "restarts (5m)")], "timeseries"),
    ("Cluster: events owned per node", "short",
     [("sum by (node) (urr_cluster_events_owned)", "{{node}}")], "timeseries"),
    ("Cluster: failovers, handoffs, refused writes (5m)", "short",
     [("sum by (node) (increase(urr_cluster_failovers_total[5m]))", "failovers {{node}}"),
      ("sum by (node) (increase(urr_cluster_handoffs_total[5m]))", "handoffs {{node}}"),
      ("sum by (node) (increase(urr_cluster_refused_writes_total[5m]))", "refused {{node}}")], "timeseries"),
    ("Lease renewals by outcome", "ops",
     [("sum by (outcome) (rate(urr_cluster_lease_renewals_total[1m]))", "{{outcome}}")], "timeseries"),
    ("Event bus: outbox backlog and lag", "short",
     [("max(urr_bus_outbox_unpublished)", "unpublished"),
      ("max(urr_bus_outbox_lag_seconds)", "lag s")], "timeseries"),
    ("Event bus: pending and dead letters", "short",
     [("sum by (group) (urr_bus_pending)", "pending {{group}}"),
      ("sum by (topic) (urr_bus_dead_letters)", "dead {{topic}}")], "timeseries"),
    ("Rate-limited per second", "reqps",
     [("sum by (class) (rate(urr_rate_limited_total[1m]))", "{{class}}")], "timeseries"),
]


def panel(i, title, unit, targets, kind):
    return {
        "id": i + 1,
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"refId": chr(ord("A") + j), "expr": expr, "legendFormat": legend}
            for j, (expr, legend) in enumerate(targets)
        ],
    }


dashboard = {
    "title": "URR on-sale",
    "uid": "urr-onsale",
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "refresh": "10s",
    "time": {"from": "now-1h", "to": "now"},
    "tags": ["urr"],
    "templating": {"list": [{
        "name": "datasource", "type": "datasource", "query": "prometheus",
        "label": "Prometheus",
    }]},
    "panels": [panel(i, *p) for i, p in enumerate(PANELS)],
}

out = pathlib.Path(__file__).with_name("urr.json")
out.write_text(json.dumps(dashboard, indent=2) + "\n")
print(f"wrote {out}")
