#!/usr/bin/env python3
"""Generates ops/grafana/confab-dashboard.json, the Grafana dashboard for Confab.

The JSON is committed (Grafana imports or provisions it as is); this script is its source, so
edit here and run `python3 ops/grafana/dashboard.py`. `--check` exits non-zero when the committed
JSON differs from what the script generates (ops/check.sh runs it).

Queries use the recording rules of ops/prometheus/rules.yml where one exists and raw metrics
otherwise; every name is checked against the Rust sources by ops/check.sh.
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("confab-dashboard.json")
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
SEL = 'job=~"$job", instance=~"$instance"'
PROBES = 'route!~"/healthz|/readyz|/metrics"'


class Layout:
    """Places panels left to right in rows of 24 grid units."""

    def __init__(self):
        self.panels = []
        self.y = 0
        self.x = 0
        self.row_h = 0
        self.next_id = 1

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        self._newline()
        self.panels.append(
            {
                "type": "row",
                "id": self._id(),
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1

    def _newline(self):
        if self.x:
            self.y += self.row_h
            self.x = 0
            self.row_h = 0

    def add(self, panel, w=8, h=8):
        if self.x + w > 24:
            self._newline()
        panel["id"] = self._id()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)


def target(expr, legend="", ref="A", **extra):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref}
    t.update(extra)
    return t


def timeseries(title, targets, unit="short", description="", stack=False, min0=True):
    refs = "ABCDEFGH"
    defaults = {
        "unit": unit,
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        },
    }
    if min0:
        defaults["min"] = 0
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [dict(t, refId=refs[i]) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(title, expr, unit="short", description=""):
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [target(expr, ref="A", instant=True)],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        },
    }


def heatmap(title, bucket_rule, description=""):
    return {
        "type": "heatmap",
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [
            target(
                f"sum by (le) ({bucket_rule}{{{SEL}}})",
                "{{le}}",
                format="heatmap",
            )
        ],
        "options": {
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
            "yAxis": {"unit": "s", "axisPlacement": "left"},
            "tooltip": {"show": True, "yHistogram": True},
            "legend": {"show": True},
        },
        "fieldConfig": {"defaults": {}, "overrides": []},
    }


def build():
    L = Layout()

    L.row("Sessions")
    L.add(stat("Live sessions", f"sum(confab_live_sessions{{{SEL}}})"), w=4)
    L.add(stat("Live chat actors", f"sum(confab_live_chat_actors{{{SEL}}})"), w=4)
    L.add(
        stat(
            "Nodes up",
            'sum(up{job=~"$job", instance=~"$instance"})',
            description="Targets of the confab job answering scrapes.",
        ),
        w=4,
    )
    L.add(
        {
            **stat("Build", f"confab_build_info{{{SEL}}}"),
            "options": {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "textMode": "name",
                "colorMode": "none",
                "graphMode": "none",
            },
            "targets": [target(f"confab_build_info{{{SEL}}}", "{{instance}} {{version}}", instant=True)],
        },
        w=12,
        h=4,
    )
    L._newline()
    L.add(
        timeseries(
            "Live sessions per node",
            [target(f"confab_live_sessions{{{SEL}}}", "{{instance}}")],
            description="Open WebSocket sessions. A node that drops to zero while others climb was restarted or drained.",
        )
    )
    L.add(
        timeseries(
            "WebSocket connects / s",
            [
                target(f"instance:confab_ws_connects:rate1m{{{SEL}}}", "{{instance}} accepted"),
                target(f"instance:confab_ws_rejected:rate1m{{{SEL}}}", "{{instance}} refused"),
            ],
            unit="reqps",
            description="Upgrades answered 101, and /ws requests refused (bad or expired token, ...). A reconnect storm after a restart shows here.",
        )
    )
    L.add(
        timeseries(
            "Chat actors per node",
            [target(f"confab_live_chat_actors{{{SEL}}}", "{{instance}}")],
        )
    )

    L.row("Throughput")
    L.add(
        timeseries(
            "Client frames in / s by type",
            [target(f"sum by (type) (instance_type:confab_events_in:rate1m{{{SEL}}})", "{{type}}")],
            unit="ops",
            stack=True,
        ),
        w=12,
    )
    L.add(
        timeseries(
            "Pushes out / s by type",
            [target(f"sum by (type) (instance_type:confab_events_out:rate1m{{{SEL}}})", "{{type}}")],
            unit="ops",
            stack=True,
            description="Pushes queued to sockets: one per recipient device, so a group message of G members counts G.",
        ),
        w=12,
    )

    L.row("Latency")
    L.add(
        timeseries(
            "send → ack p50 / p99",
            [
                target(f"instance:confab_send_to_ack_seconds:p50_5m{{{SEL}}}", "{{instance}} p50"),
                target(f"instance:confab_send_to_ack_seconds:p99_5m{{{SEL}}}", "{{instance}} p99"),
            ],
            unit="s",
            description="From a send reaching its chat actor to its durable ack; includes the store write.",
        ),
        w=12,
    )
    L.add(
        timeseries(
            "fan-out p50 / p99",
            [
                target(f"instance:confab_fanout_seconds:p50_5m{{{SEL}}}", "{{instance}} p50"),
                target(f"instance:confab_fanout_seconds:p99_5m{{{SEL}}}", "{{instance}} p99"),
            ],
            unit="s",
            description="From the store confirming an event to it being queued on every member's sockets.",
        ),
        w=12,
    )
    L.add(heatmap("send → ack distribution", "instance:confab_send_to_ack_seconds_bucket:rate5m"), w=12)
    L.add(heatmap("fan-out distribution", "instance:confab_fanout_seconds_bucket:rate5m"), w=12)

    L.row("Store")
    L.add(
        timeseries(
            "Store write p99 by operation",
            [target(f"max by (op) (instance_op:confab_store_write_seconds:p99_5m{{{SEL}}})", "{{op}}")],
            unit="s",
            description="Worst node's p99 per operation.",
        )
    )
    L.add(
        timeseries(
            "Store write p50 by operation",
            [target(f"max by (op) (instance_op:confab_store_write_seconds:p50_5m{{{SEL}}})", "{{op}}")],
            unit="s",
        )
    )
    L.add(
        timeseries(
            "Store writes / s by operation",
            [target(f"sum by (op) (instance_op:confab_store_write_seconds_count:rate5m{{{SEL}}})", "{{op}}")],
            unit="ops",
            stack=True,
        )
    )

    L.row("HTTP")
    L.add(
        timeseries(
            "Requests / s by status",
            [
                target(
                    f"sum by (status) (rate(confab_http_requests_total{{{SEL}, {PROBES}}}[$__rate_interval]))",
                    "{{status}}",
                )
            ],
            unit="reqps",
            stack=True,
            description="Probes and scrapes excluded. 101 = WebSocket upgrades.",
        )
    )
    L.add(
        timeseries(
            "5xx ratio",
            [
                target(
                    f"(sum(instance:confab_http_requests_5xx:rate5m{{{SEL}}}) or vector(0))"
                    f" / sum(instance:confab_http_requests:rate5m{{{SEL}}})",
                    "5xx",
                ),
                target(f"instance:confab_readyz_failures:ratio_rate5m{{{SEL}}}", "{{instance}} /readyz not ready"),
            ],
            unit="percentunit",
            description="API 5xx over all API requests (probes excluded), and the share of /readyz probes answered 503 per node (store unreachable).",
        )
    )
    L.add(
        timeseries(
            "p99 latency by route",
            [
                target(
                    "histogram_quantile(0.99, sum by (route, le) "
                    f"(rate(confab_http_request_duration_seconds_bucket{{{SEL}, route!~\"/ws|/metrics\"}}[$__rate_interval])))",
                    "{{route}}",
                )
            ],
            unit="s",
            description="/ws is left out: its duration is the upgrade only.",
        )
    )

    L.row("Auth, rate limits, back-pressure")
    L.add(
        timeseries(
            "Auth failures / s by reason",
            [target(f"sum by (reason) (rate(confab_auth_failures_total{{{SEL}}}[$__rate_interval]))", "{{reason}}")],
            unit="ops",
            stack=True,
            description="token_expired is routine (clients refresh); invalid_credentials and refresh_token_reused are the ones to watch.",
        )
    )
    L.add(
        timeseries(
            "Rate-limited / s by limit",
            [
                target(f"sum by (limit) (rate(confab_rate_limited_total{{{SEL}}}[$__rate_interval]))", "{{limit}}"),
                target(
                    f"sum(rate(confab_rate_limit_fallbacks_total{{{SEL}}}[$__rate_interval]))",
                    "checks without Redis (per-node fallback)",
                ),
            ],
            unit="ops",
            description="Refusals by limit; and checks that fell back to the node's own buckets because Redis did not answer (should be 0 in a cluster).",
        )
    )
    L.add(
        timeseries(
            "Slow consumers and dropped pushes / s",
            [
                target(f"instance:confab_slow_consumer_disconnects:rate5m{{{SEL}}}", "{{instance}} sessions cut (4008)"),
                target(f"instance:confab_outbound_dropped:rate5m{{{SEL}}}", "{{instance}} pushes dropped"),
            ],
            unit="ops",
        )
    )

    L.row("Calls and SFU")
    L.add(stat("Live calls", f"sum(confab_calls_live{{{SEL}}})"), w=4)
    L.add(stat("SFU participants", f"sum(confab_sfu_participants{{{SEL}}})"), w=4)
    L.add(stat("SFU tracks", f"sum(confab_sfu_tracks{{{SEL}}})"), w=4)
    L.add(
        timeseries(
            "Call outcomes / s",
            [target(f"sum by (outcome) (rate(confab_call_outcomes_total{{{SEL}}}[$__rate_interval]))", "{{outcome}}")],
            unit="ops",
            stack=True,
        ),
        w=12,
    )
    L._newline()
    L.add(
        timeseries(
            "RTP forwarded",
            [target(f"instance:confab_sfu_rtp_bytes_forwarded:rate1m{{{SEL}}} * 8", "{{instance}}")],
            unit="bps",
            description="Media bits per second the SFU forwards to subscribers.",
        )
    )
    L.add(
        timeseries(
            "RTP packets forwarded / s",
            [target(f"instance:confab_sfu_rtp_packets_forwarded:rate1m{{{SEL}}}", "{{instance}}")],
            unit="pps",
        )
    )
    L.add(
        timeseries(
            "PLIs relayed and peer-connection failures / s",
            [
                target(f"instance:confab_sfu_plis_relayed:rate5m{{{SEL}}}", "{{instance}} PLIs"),
                target(f"instance:confab_sfu_peer_connection_failures:rate5m{{{SEL}}}", "{{instance}} PC failures"),
            ],
            unit="ops",
            description="Many PLIs mean lossy links (keyframe requests); peer-connection failures usually mean TURN/ICE trouble.",
        )
    )

    L.row("Media, statuses, notifications")
    L.add(
        timeseries(
            "Media uploads / s by kind",
            [target(f"sum by (kind) (rate(confab_media_uploads_total{{{SEL}}}[$__rate_interval]))", "{{kind}}")],
            unit="ops",
            stack=True,
        )
    )
    L.add(
        timeseries(
            "Upload bytes / s",
            [
                target(f"sum(rate(confab_media_upload_bytes_total{{{SEL}}}[$__rate_interval]))", "bytes/s"),
            ],
            unit="Bps",
        )
    )
    L.add(
        timeseries(
            "Media rejected / s by reason",
            [target(f"sum by (reason) (rate(confab_media_rejected_total{{{SEL}}}[$__rate_interval]))", "{{reason}}")],
            unit="ops",
            stack=True,
        )
    )
    L.add(
        timeseries(
            "Statuses posted / expired per s",
            [
                target(f"sum(rate(confab_statuses_posted_total{{{SEL}}}[$__rate_interval]))", "posted"),
                target(f"sum(rate(confab_statuses_expired_total{{{SEL}}}[$__rate_interval]))", "expired"),
            ],
            unit="ops",
        )
    )
    L.add(
        timeseries(
            "Notifications / s by provider and outcome",
            [
                target(
                    f"sum by (provider, outcome) (rate(confab_notifications_total{{{SEL}}}[$__rate_interval]))",
                    "{{provider}} {{outcome}}",
                )
            ],
            unit="ops",
            stack=True,
        )
    )
    L.add(
        timeseries(
            "Notification failure ratio",
            [target('job_provider:confab_notifications_failed:ratio_rate5m{job=~"$job"}', "{{provider}}")],
            unit="percentunit",
            description="Outcomes counted as failures are defined once, in the recording rule (ops/prometheus/rules.yml).",
        )
    )

    L.row("Process")
    L.add(
        timeseries(
            "CPU (cores)",
            [target(f"instance:process_cpu_seconds:rate1m{{{SEL}}}", "{{instance}}")],
            unit="short",
        ),
        w=6,
    )
    L.add(
        timeseries(
            "Resident memory",
            [target(f"process_resident_memory_bytes{{{SEL}}}", "{{instance}}")],
            unit="bytes",
            description="~15.5 KiB per idle session (docs/PERFORMANCE.md).",
        ),
        w=6,
    )
    L.add(
        timeseries(
            "Open file descriptors",
            [
                target(f"process_open_fds{{{SEL}}}", "{{instance}} open"),
                target(f"process_max_fds{{{SEL}}}", "{{instance}} limit"),
            ],
            description="One per WebSocket plus store connections.",
        ),
        w=6,
    )
    L.add(
        timeseries(
            "Threads",
            [target(f"process_threads{{{SEL}}}", "{{instance}}")],
        ),
        w=6,
    )

    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "description": "The Prometheus that scrapes the confab nodes and loads ops/prometheus/rules.yml",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "heatmap", "name": "Heatmap", "version": ""},
        ],
        "uid": "confab-overview",
        "title": "Confab",
        "description": "Sessions, throughput, latency, store, HTTP, auth, SFU, media and process metrics of the confab nodes. Needs the recording rules of ops/prometheus/rules.yml.",
        "tags": ["confab"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "",
        "annotations": {"list": []},
        "links": [],
        "templating": {
            "list": [
                {
                    "name": "DS_PROMETHEUS",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                },
                {
                    "name": "job",
                    "label": "Job",
                    "type": "query",
                    "datasource": DS,
                    "query": {"query": "label_values(confab_build_info, job)", "refId": "job"},
                    "definition": "label_values(confab_build_info, job)",
                    "current": {},
                    "refresh": 2,
                    "includeAll": False,
                    "multi": False,
                    "sort": 1,
                    "hide": 0,
                    "options": [],
                    "regex": "",
                },
                {
                    "name": "instance",
                    "label": "Node",
                    "type": "query",
                    "datasource": DS,
                    "query": {
                        "query": 'label_values(confab_build_info{job=~"$job"}, instance)',
                        "refId": "instance",
                    },
                    "definition": 'label_values(confab_build_info{job=~"$job"}, instance)',
                    "current": {},
                    "refresh": 2,
                    "includeAll": True,
                    "allValue": ".*",
                    "multi": True,
                    "sort": 1,
                    "hide": 0,
                    "options": [],
                    "regex": "",
                },
            ]
        },
        "panels": L.panels,
    }


def render():
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main():
    text = render()
    if sys.argv[1:] == ["--check"]:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python3 {Path(__file__)}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
