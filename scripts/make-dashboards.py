#!/usr/bin/env python3
"""Writes grafana/dashboards/*.json: Sharecast's Grafana dashboards, generated so ids, grid
positions, datasource references and units stay consistent. Run `make dashboards` after editing;
`make test` checks the committed files match this script's output."""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
INST = 'instance=~"$instance"'


class Layout:
    """Places panels left to right in rows of 24 columns."""

    def __init__(self):
        self.panels = []
        self.x = 0
        self.y = 0
        self.row_height = 0
        self.next_id = 1

    def row(self, title):
        self.newline()
        self.panels.append({"type": "row", "title": title, "id": self.next_id, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.next_id += 1
        self.y += 1

    def newline(self):
        if self.x > 0:
            self.y += self.row_height
            self.x = 0
            self.row_height = 0

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.newline()
        panel["id"] = self.next_id
        self.next_id += 1
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_height = max(self.row_height, h)
        self.panels.append(panel)


def target(expr, ref="A", legend=None, instant=False, fmt="time_series"):
    t = {"datasource": DS, "expr": expr, "refId": ref, "range": not instant, "instant": instant, "format": fmt}
    if legend:
        t["legendFormat"] = legend
    return t


def thresholds(steps):
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def stat(title, expr, unit, description, steps=None, mappings=None, decimals=None):
    defaults = {"unit": unit, "thresholds": thresholds(steps or [("green", None)])}
    if mappings:
        defaults["mappings"] = mappings
    if decimals is not None:
        defaults["decimals"] = decimals
    return {"type": "stat", "title": title, "description": description, "datasource": DS,
            "targets": [target(expr, instant=True)],
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "area", "textMode": "auto", "justifyMode": "auto", "orientation": "auto"}}


def timeseries(title, targets, unit, description, overrides=None, steps=None):
    return {"type": "timeseries", "title": title, "description": description, "datasource": DS, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "thresholds": thresholds(steps or [("green", None)]),
                                         "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}},
                            "overrides": overrides or []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def table(title, targets, unit, description, overrides=None, transformations=None):
    return {"type": "table", "title": title, "description": description, "datasource": DS, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "thresholds": thresholds([("green", None)]), "custom": {"align": "auto"}},
                            "overrides": overrides or []},
            "options": {"showHeader": True, "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
            "transformations": transformations or []}


def unit_override(name, unit, extra=None):
    properties = [{"id": "unit", "value": unit}]
    properties += extra or []
    return {"matcher": {"id": "byName", "options": name}, "properties": properties}


def variables(channel):
    v = [
        # "Import dashboard" asks for DS_PROMETHEUS (see __inputs) and puts it here; provisioned,
        # the variable picks the default Prometheus data source.
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {"selected": False, "text": "${DS_PROMETHEUS}", "value": "${DS_PROMETHEUS}"}, "hide": 0, "refresh": 1, "regex": "", "options": []},
        {"name": "instance", "label": "Sharecast", "type": "query", "datasource": DS,
         "definition": "label_values(sharecast_build_info, instance)",
         "query": {"query": "label_values(sharecast_build_info, instance)", "refId": "instance"},
         "multi": True, "includeAll": True, "allValue": ".*", "current": {}, "hide": 0, "refresh": 2, "regex": "", "sort": 1, "options": []},
    ]
    if channel:
        v.append({"name": "channel", "label": "Channel", "type": "query", "datasource": DS,
                  "definition": 'label_values(sharecast_stream_up{%s}, channel)' % INST,
                  "query": {"query": 'label_values(sharecast_stream_up{%s}, channel)' % INST, "refId": "channel"},
                  "multi": False, "includeAll": False, "current": {}, "hide": 0, "refresh": 2, "regex": "", "sort": 1, "options": []})
    return v


def dashboard(uid, title, description, panels, channel):
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "The Prometheus that scrapes Sharecast",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "table", "name": "Table", "version": ""},
        ],
        "uid": uid, "title": title, "description": description, "tags": ["sharecast", "iptv"],
        "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
        "time": {"from": "now-24h", "to": "now"}, "timezone": "", "refresh": "30s",
        "annotations": {"list": []},
        "links": [{"title": "Sharecast", "type": "dashboards", "tags": ["sharecast"], "asDropdown": True, "includeVars": True, "keepTime": True}],
        "templating": {"list": variables(channel)},
        "panels": panels,
    }


def overview():
    L = Layout()
    L.row("Now")
    L.add(stat("Active streams", 'sum(sharecast_streams{%s})' % INST, "none",
               "Upstream sessions running now (starting, active, or waiting out their grace period)."), 6, 4)
    L.add(stat("Viewers", 'sum(sharecast_stream_clients{%s})' % INST, "none", "Viewers connected to any stream."), 6, 4)
    L.add(stat("Egress bandwidth", 'sum(rate(sharecast_stream_sent_bytes_total{%s}[$__rate_interval]))' % INST, "Bps",
               "Bytes per second sent to viewers. Turns red above shared_streaming.monitoring.bandwidth_threshold (see the bandwidth panel)."), 6, 4)
    L.add(stat("Upstream errors", 'sum(increase(sharecast_stream_upstream_errors_total{%s}[$__range]))' % INST, "none",
               "Upstream failures (connect, HTTP status, stall, EOF...) in the selected time range.",
               steps=[("green", None), ("orange", 1), ("red", 10)], decimals=0), 6, 4)

    L.row("System health")
    L.add(stat("Memory available", 'min(sharecast_host_memory_available_bytes{%s} / sharecast_host_memory_total_bytes{%s})' % (INST, INST),
               "percentunit", "Share of the host's memory available (MemAvailable / MemTotal). Alerts: warning below 15%, error below 5%.",
               steps=[("red", None), ("orange", 0.05), ("green", 0.15)]), 5, 4)
    L.add(stat("CPU", 'sum(rate(process_cpu_seconds_total{%s}[$__rate_interval]))' % INST, "percentunit",
               "Sharecast's CPU time per second (1 = 100% of one core)."), 5, 4)
    L.add(stat("Buffer disk free", 'min(sharecast_buffer_disk_free_bytes{%s} / sharecast_buffer_disk_size_bytes{%s})' % (INST, INST),
               "percentunit", "Free share of the file system holding the ring buffers. Alert: warning below 10%.",
               steps=[("red", None), ("green", 0.10)]), 5, 4)
    L.add(stat("Open files", 'max(process_open_fds{%s} / process_max_fds{%s})' % (INST, INST), "percentunit",
               "Open descriptors as a share of the limit (each viewer takes one). Alert: warning above 80%.",
               steps=[("green", None), ("orange", 0.80)]), 5, 4)
    L.add(stat("Database", 'min(sharecast_db_up{%s})' % INST, "none", "Whether SQLite answers its health query.",
               steps=[("red", None), ("green", 1)],
               mappings=[{"type": "value", "options": {"0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}]), 4, 4)

    L.row("Last 24 hours")
    L.add(timeseries("Bandwidth", [
        target('sum by (instance) (rate(sharecast_stream_sent_bytes_total{%s}[$__rate_interval]))' % INST, "A", "egress {{instance}}"),
        target('sum by (instance) (rate(sharecast_stream_upstream_received_bytes_total{%s}[$__rate_interval]))' % INST, "B", "ingress {{instance}}"),
        target('sharecast_config_bandwidth_threshold_bytes_per_second{%s} > 0' % INST, "C", "threshold {{instance}}"),
    ], "Bps", "Bytes per second to viewers and from upstreams; the dashed line is shared_streaming.monitoring.bandwidth_threshold.",
        overrides=[{"matcher": {"id": "byFrameRefID", "options": "C"},
                    "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                                   {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
                                   {"id": "custom.fillOpacity", "value": 0}]}]), 12, 8)
    L.add(timeseries("Viewers and streams", [
        target('sum by (instance) (sharecast_stream_clients{%s})' % INST, "A", "viewers {{instance}}"),
        target('sum by (instance) (sharecast_streams{%s})' % INST, "B", "streams {{instance}}"),
    ], "none", "Viewers connected and streams running."), 12, 8)

    L.row("Live streams")
    # Only channels with a running session: a stopped one keeps its series (counters keep their
    # values, gauges read 0) and would otherwise stay listed at 0 viewers.
    running = ' and on (channel) max by (channel) (sharecast_stream_started_timestamp_seconds{%s} > 0)' % INST
    live = table("Live streams", [
        target('sum by (channel) (sharecast_stream_clients{%s})' % INST + running, "A", instant=True, fmt="table"),
        target('sum by (channel) (sharecast_stream_rate_bytes_per_second{%s}) * 8' % INST + running, "B", instant=True, fmt="table"),
        target('max by (channel) (time() - (sharecast_stream_started_timestamp_seconds{%s} > 0))' % INST, "C", instant=True, fmt="table"),
        target('sum by (channel) (increase(sharecast_stream_restarts_total{%s}[$__range]))' % INST + running, "D", instant=True, fmt="table"),
        target('min by (channel) (sharecast_stream_up{%s})' % INST + running, "E", instant=True, fmt="table"),
    ], "none", "Every channel with a running session: viewers, bitrate measured from its PCRs, uptime, restarts in the range, and whether its upstream delivers. Click a channel for its dashboard.",
        overrides=[
            unit_override("Value #A", "none", [{"id": "displayName", "value": "Viewers"}]),
            unit_override("Value #B", "bps", [{"id": "displayName", "value": "Bitrate"}]),
            unit_override("Value #C", "s", [{"id": "displayName", "value": "Uptime"}]),
            unit_override("Value #D", "none", [{"id": "displayName", "value": "Restarts"}, {"id": "decimals", "value": 0}]),
            unit_override("Value #E", "none", [{"id": "displayName", "value": "Health"},
                                               {"id": "mappings", "value": [{"type": "value", "options": {"0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}]},
                                               {"id": "custom.cellOptions", "value": {"type": "color-background"}}]),
            {"matcher": {"id": "byName", "options": "channel"},
             "properties": [{"id": "displayName", "value": "Channel"},
                            {"id": "links", "value": [{"title": "Stream dashboard",
                                                       "url": "/d/sharecast-stream/sharecast-stream?var-channel=${__data.fields.channel}&${instance:queryparam}&${datasource:queryparam}"}]}]},
        ],
        transformations=[{"id": "merge", "options": {}}, {"id": "organize", "options": {"excludeByName": {"Time": True}}}])
    L.add(live, 16, 9)
    L.add(table("Firing alerts", [
        target('ALERTS{alertstate="firing", %s}' % INST, "A", instant=True, fmt="table"),
    ], "none", "Alerts from alerts/sharecast.rules.yml firing now (Prometheus' ALERTS series).",
        transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True, "__name__": True, "alertstate": True}}}]), 8, 9)

    L.row("Providers")
    L.add(timeseries("Provider slots", [
        target('sum by (provider) (sharecast_provider_streams_in_use{%s})' % INST, "A", "in use {{provider}}"),
        target('sum by (provider) (sharecast_provider_streams_max{%s})' % INST, "B", "max {{provider}}"),
    ], "none", "Streams each provider's logins hold against what they may hold (max_streams or the panel's max_connections; a login without a limit adds nothing to max)."), 12, 8)
    L.add(timeseries("Provider refusals", [
        target('sum by (provider, reason) (increase(sharecast_provider_refused_total{%s}[$__rate_interval]))' % INST, "A", "{{provider}} {{reason}}"),
    ], "none", "Streams refused because every slot was in use (limit) or logins the provider refused (provider)."), 12, 8)

    L.row("Guide")
    L.add(stat("Guide age", 'time() - min(sharecast_epg_refresh_last_success_timestamp_seconds{%s} > 0)' % INST, "s",
               "Time since the oldest guide source was last imported (or answered 304). Alert: warning after 36 h.",
               steps=[("green", None), ("orange", 36 * 3600)]), 6, 8)
    L.add(timeseries("Guide channels", [
        target('sum by (state) (sharecast_epg_channels{%s})' % INST, "A", "{{state}}"),
    ], "none", "Catalog channels with programmes in /epg.xml (mapped) and without (unmapped: no tvg-id, name or epg.mappings entry matched). Alert: mapped below 80% of the day's peak."), 9, 8)
    L.add(timeseries("Guide programmes", [
        target('sum by (source) (sharecast_epg_programmes{%s})' % INST, "A", "{{source}}"),
        target('sum by (source) (sharecast_epg_refresh_failing{%s})' % INST, "B", "failing {{source}}"),
    ], "none", "Programmes each guide source holds in the kept window, and 1 while its last import failed (its previous guide is served)."), 9, 8)

    L.row("Transport stream quality")
    L.add(stat("Continuity errors", 'sum(increase(sharecast_stream_ts_continuity_errors_total{%s}[$__range]))' % INST, "none",
               "TS packets lost upstream (continuity counter gaps) in the range.", steps=[("green", None), ("orange", 10)], decimals=0), 6, 4)
    L.add(stat("Sync losses", 'sum(increase(sharecast_stream_ts_sync_losses_total{%s}[$__range]))' % INST, "none",
               "Times an upstream lost TS packet sync in the range.", steps=[("green", None), ("orange", 1)], decimals=0), 6, 4)
    L.add(stat("Stalls", 'sum(increase(sharecast_stream_stalls_total{%s}[$__range]))' % INST, "none",
               "Spells of more than 3 s without upstream bytes in the range.", steps=[("green", None), ("orange", 1)], decimals=0), 6, 4)
    L.add(stat("TS packets", 'sum(rate(sharecast_stream_ts_packets_total{%s}[$__rate_interval]))' % INST, "pps",
               "TS packets received per second, all channels."), 6, 4)
    return dashboard("sharecast-overview", "Sharecast overview",
                     "Streams, viewers, bandwidth, system health and alerts of Sharecast servers.", L.panels, channel=False)


def stream():
    C = 'channel="$channel", %s' % INST
    L = Layout()
    L.row("$channel")
    L.add(timeseries("Bitrate in and out", [
        target('sum(rate(sharecast_stream_upstream_received_bytes_total{%s}[$__rate_interval])) * 8' % C, "A", "from upstream"),
        target('sum(rate(sharecast_stream_sent_bytes_total{%s}[$__rate_interval])) * 8' % C, "B", "to viewers"),
        target('sum(sharecast_stream_rate_bytes_per_second{%s}) * 8' % C, "C", "from PCRs"),
    ], "bps", "Bits per second received from the upstream, sent to all viewers, and the stream's own rate measured from its PCRs."), 12, 8)
    L.add(timeseries("Viewers", [target('sum(sharecast_stream_clients{%s})' % C, "A", "viewers")], "none",
                     "Viewers of the channel."), 6, 8)
    L.add(timeseries("Buffer fill", [target('max(sharecast_stream_buffer_fill_ratio{%s})' % C, "A", "slowest viewer")], "percentunit",
                     "Share of the ring the slowest viewer has not read yet; near 100% it is about to be dropped (lag_policy).",
                     steps=[("green", None), ("orange", 0.8)]), 6, 8)
    L.add(timeseries("Join latency (all channels)", [
        target('histogram_quantile(0.5, sum by (le) (rate(sharecast_client_join_latency_seconds_bucket{%s}[$__rate_interval])))' % INST, "A", "p50"),
        target('histogram_quantile(0.9, sum by (le) (rate(sharecast_client_join_latency_seconds_bucket{%s}[$__rate_interval])))' % INST, "B", "p90"),
        target('histogram_quantile(0.99, sum by (le) (rate(sharecast_client_join_latency_seconds_bucket{%s}[$__rate_interval])))' % INST, "C", "p99"),
    ], "s", "Time from a viewer's request to its first byte (the histogram is per server, not per channel)."), 8, 8)
    L.add(timeseries("TS continuity errors and stalls", [
        target('sum(increase(sharecast_stream_ts_continuity_errors_total{%s}[$__rate_interval]))' % C, "A", "continuity errors"),
        target('sum(increase(sharecast_stream_ts_sync_losses_total{%s}[$__rate_interval]))' % C, "B", "sync losses"),
        target('sum(increase(sharecast_stream_stalls_total{%s}[$__rate_interval]))' % C, "C", "stalls"),
    ], "none", "Damage seen in the upstream's transport stream."), 8, 8)
    L.add(timeseries("Restarts and upstream errors", [
        target('sum(increase(sharecast_stream_restarts_total{%s}[$__rate_interval]))' % C, "A", "restarts"),
        target('sum by (reason) (increase(sharecast_stream_upstream_errors_total{%s}[$__rate_interval]))' % C, "B", "{{reason}}"),
    ], "none", "Upstream reconnections, and failures by kind (connect, http_status, stall, eof, too_large, bad_playlist, bad_data, other)."), 8, 8)
    L.add(table("Alerts for $channel", [
        target('ALERTS{channel="$channel", %s}' % INST, "A", instant=True, fmt="table"),
    ], "none", "Pending and firing alerts about this channel.",
        transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True, "__name__": True}}}]), 24, 6)
    return dashboard("sharecast-stream", "Sharecast stream", "One channel of a Sharecast server: bitrate, viewers, buffer, TS quality, restarts, alerts.",
                     L.panels, channel=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "grafana", "dashboards")
    os.makedirs(out, exist_ok=True)
    for name, board in [("sharecast-overview.json", overview()), ("sharecast-stream.json", stream())]:
        with open(os.path.join(out, name), "w") as f:
            json.dump(board, f, indent=2, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
