//! The page: one HTML document whose `<main>` is re-fetched from `/fragment` every refresh by a
//! six-line script, so it updates without a reload and without anything to build or download.
//! Every cell carries its figure as it is in `/api/console` (`data-field`, and `data-value`
//! where the text is rounded or has a unit), which is how the browser test reads it back.

use std::fmt::Write;

use crate::chart::Chart;
use crate::snapshot::{lags, GroupRow, Snapshot};
use crate::Lagging;

/// The whole document around `fragment`.
pub fn document(snapshot: &Snapshot, lagging: &Lagging) -> String {
    let refresh_ms = (snapshot.refresh_seconds * 1000.0) as u64;
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>sluice console</title>\
         <style>{STYLE}</style></head><body>\
         <header><h1>sluice</h1><p>hosts, topics and consumer groups of <code>sluice up</code>; \
         the same figures as JSON at <a href=\"/api/console\">/api/console</a></p></header>\
         <main id=\"console\">{main}</main>\
         <script>\nsetInterval(async () => {{\n  try {{\n    const r = await fetch('/fragment');\n    \
         if (r.ok) document.getElementById('console').innerHTML = await r.text();\n  }} catch (e) {{}}\n}}, {refresh_ms});\n</script>\
         </body></html>\n",
        main = fragment(snapshot, lagging)
    )
}

/// What `<main>` holds: the three sections.
pub fn fragment(s: &Snapshot, lagging: &Lagging) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<p class=\"updated\" data-field=\"generated_at_ms\" data-value=\"{}\">updated {} UTC; \
         lag collected {}</p>",
        s.generated_at_ms,
        clock(s.generated_at_ms),
        if s.lag_collected_at_ms > 0 {
            format!("{} UTC", clock(s.lag_collected_at_ms))
        } else {
            "not yet".into()
        }
    );
    hosts(&mut out, s);
    topics(&mut out, s);
    groups(&mut out, s, lagging);
    out
}

fn hosts(out: &mut String, s: &Snapshot) {
    out.push_str("<section id=\"hosts\"><h2>Hosts</h2>");
    if s.hosts.is_empty() {
        out.push_str("<p class=\"empty\">No host has reported in the window yet.</p>");
    }
    out.push_str(
        "<table id=\"hosts-table\"><thead><tr><th>host</th><th>last sample (UTC)</th><th>CPU usage</th>\
         <th>memory used</th><th>memory used</th><th>memory total</th></tr></thead><tbody>",
    );
    for h in &s.hosts {
        let _ = write!(
            out,
            "<tr data-host=\"{host}\"><td data-field=\"host\">{host}</td>\
             <td data-field=\"last_seen_ms\" data-value=\"{seen}\">{clock}</td>{cpu}{pct}{used}{total}</tr>",
            host = escape(&h.host),
            seen = h.last_seen_ms,
            clock = clock(h.last_seen_ms),
            cpu = number_cell("cpu_usage_percent", h.cpu_usage_percent, |v| format!("{v:.1} %")),
            pct = number_cell("mem_used_percent", h.mem_used_percent, |v| format!("{v:.1} %")),
            used = number_cell("mem_used_bytes", h.mem_used_bytes, bytes),
            total = number_cell("mem_total_bytes", h.mem_total_bytes, bytes),
        );
    }
    out.push_str("</tbody></table>");
    let charted = s.hosts.iter().filter(|h| h.charted).count();
    if charted < s.hosts.len() {
        let _ = write!(
            out,
            "<p class=\"empty\">The charts show the {charted} busiest of {} hosts by CPU.</p>",
            s.hosts.len()
        );
    }
    out.push_str("<div class=\"charts\">");
    let from_ms = s.generated_at_ms - s.window_seconds as i64 * 1000;
    for (title, series) in [("CPU usage", 0), ("Memory used", 1)] {
        let lines = s
            .hosts
            .iter()
            .filter(|h| h.charted)
            .map(|h| {
                let points = if series == 0 { &h.cpu_series } else { &h.mem_series };
                (h.host.clone(), points.iter().copied().collect())
            })
            .collect();
        let chart = Chart {
            title,
            unit: "percent",
            from_ms,
            to_ms: s.generated_at_ms,
            y_max: Some(100.0),
            lines,
        };
        out.push_str(&chart.figure());
    }
    out.push_str("</div></section>");
}

fn topics(out: &mut String, s: &Snapshot) {
    out.push_str(
        "<section id=\"topics\"><h2>Topics</h2><table id=\"topics-table\"><thead><tr><th>topic</th>\
         <th>partitions</th><th>size on disk</th><th>records/s in</th><th>records/s out</th></tr></thead><tbody>",
    );
    for t in &s.topics {
        let _ = write!(
            out,
            "<tr data-topic=\"{topic}\"><td data-field=\"topic\">{topic}</td>\
             <td data-field=\"partitions\">{partitions}</td>{size}{rate_in}{rate_out}</tr>",
            topic = escape(&t.topic),
            partitions = t.partitions,
            size = number_cell("size_bytes", Some(t.size_bytes as f64), bytes),
            rate_in = number_cell("records_in_per_second", t.records_in_per_second, |v| format!("{v:.1}")),
            rate_out = number_cell("records_out_per_second", t.records_out_per_second, |v| format!(
                "{v:.1}"
            )),
        );
    }
    out.push_str(
        "</tbody></table><table id=\"partitions-table\"><thead><tr><th>topic</th><th>partition</th>\
         <th>log start offset</th><th>log end offset</th><th>size on disk</th></tr></thead><tbody>",
    );
    for t in &s.topics {
        for p in &t.partition_offsets {
            let _ = write!(
                out,
                "<tr data-topic=\"{topic}\" data-partition=\"{partition}\"><td>{topic}</td><td>{partition}</td>\
                 <td data-field=\"log_start_offset\">{start}</td><td data-field=\"log_end_offset\">{end}</td>{size}</tr>",
                topic = escape(&t.topic),
                partition = p.partition,
                start = p.log_start_offset,
                end = p.log_end_offset,
                size = number_cell("size_bytes", Some(p.size_bytes as f64), bytes),
            );
        }
    }
    out.push_str("</tbody></table></section>");
}

fn groups(out: &mut String, s: &Snapshot, lagging: &Lagging) {
    out.push_str("<section id=\"groups\"><h2>Consumer groups</h2>");
    if s.groups.is_empty() {
        out.push_str("<p class=\"empty\">No consumer group yet.</p>");
    }
    out.push_str(
        "<table id=\"groups-table\"><thead><tr><th>group</th><th>state</th><th>members</th><th>topic</th>\
         <th>records-lag-max</th><th>lag (s)</th><th>retention margin (s)</th><th>records lost</th><th></th></tr></thead><tbody>",
    );
    for g in &s.groups {
        for t in &g.topics {
            let lagging_here = lags(t, lagging);
            let _ = write!(
                out,
                "<tr data-group=\"{group}\" data-topic=\"{topic}\"{class}><td data-field=\"group\">{group}</td>\
                 <td data-field=\"state\">{state}</td><td data-field=\"members\">{members}</td>\
                 <td data-field=\"topic\">{topic}</td>{max}{seconds}{margin}{lost}<td data-field=\"lagging\" data-value=\"{lagging_here}\">{badge}</td></tr>",
                group = escape(&g.group),
                topic = escape(&t.topic),
                class = if lagging_here { " class=\"lagging\"" } else { "" },
                state = escape(&g.state),
                members = g.members.len(),
                max = number_cell("records_lag_max", t.records_lag_max.map(|v| v as f64), |v| format!("{v:.0}")),
                seconds = number_cell("lag_seconds", t.lag_seconds, |v| format!("{v:.1}")),
                margin = number_cell("retention_margin_seconds", t.retention_margin_seconds, |v| format!("{v:.0}")),
                lost = number_cell("records_lost", t.records_lost.map(|v| v as f64), |v| format!("{v:.0}")),
                badge = if lagging_here { "<span class=\"badge\">LAGGING</span>" } else { "" },
            );
        }
    }
    out.push_str("</tbody></table>");
    for g in &s.groups {
        group_detail(out, s, g);
    }
    out.push_str("</section>");
}

/// A group's partitions as `sluice groups --describe` lists them, and its lag chart.
fn group_detail(out: &mut String, s: &Snapshot, g: &GroupRow) {
    let _ = write!(
        out,
        "<div class=\"group{class}\" data-group=\"{group}\"><h3>{group} <small>{state}, {n} member{plural}</small></h3>\
         <table class=\"group-partitions\" data-group=\"{group}\"><thead><tr><th>topic</th><th>partition</th>\
         <th>current offset</th><th>log end offset</th><th>lag</th><th>lag (s)</th><th>consumer id</th>\
         <th>host</th><th>client id</th></tr></thead><tbody>",
        class = if g.lagging { " lagging" } else { "" },
        group = escape(&g.group),
        state = escape(&g.state),
        n = g.members.len(),
        plural = if g.members.len() == 1 { "" } else { "s" },
    );
    for t in &g.topics {
        for p in &t.partitions {
            let member = p
                .member_id
                .as_ref()
                .and_then(|id| g.members.iter().find(|m| &m.member_id == id));
            let _ = write!(
                out,
                "<tr data-topic=\"{topic}\" data-partition=\"{partition}\"><td>{topic}</td><td>{partition}</td>\
                 <td data-field=\"committed_offset\">{committed}</td><td data-field=\"log_end_offset\">{end}</td>\
                 <td data-field=\"lag\">{lag}</td>{seconds}<td data-field=\"member_id\">{member_id}</td>\
                 <td data-field=\"host\">{host}</td><td data-field=\"client_id\">{client}</td></tr>",
                topic = escape(&t.topic),
                partition = p.partition,
                committed = dash(p.committed_offset),
                end = p.log_end_offset,
                lag = dash(p.lag),
                seconds = number_cell("lag_seconds", p.lag_seconds, |v| format!("{v:.1}")),
                member_id = escape(member.map_or("-", |m| m.member_id.as_str())),
                host = escape(member.map_or("-", |m| m.host.as_str())),
                client = escape(member.map_or("-", |m| m.client_id.as_str())),
            );
        }
    }
    out.push_str("</tbody></table>");
    let chart = Chart {
        title: &format!("records-lag-max of {}", g.group),
        unit: "records",
        from_ms: s.generated_at_ms - s.window_seconds as i64 * 1000,
        to_ms: s.generated_at_ms,
        y_max: None,
        lines: g
            .lag_history
            .iter()
            .map(|h| (h.topic.clone(), h.points.clone()))
            .collect(),
    };
    out.push_str(&chart.figure());
    out.push_str("</div>");
}

/// A cell whose text is `format(value)`, with the exact value in `data-value`; "-" when None.
fn number_cell(field: &str, value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    match value {
        Some(v) => format!("<td data-field=\"{field}\" data-value=\"{v}\">{}</td>", format(v)),
        None => format!("<td data-field=\"{field}\">-</td>"),
    }
}

fn dash(v: Option<i64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// Bytes in binary units, as `kafka-log-dirs` users read sizes.
fn bytes(v: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = v;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `HH:MM:SS` of a Unix time in ms, UTC.
fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f4f6f9}\
header{background:#1d2330;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:baseline}\
header h1{margin:0;font-size:20px}header p{margin:0;opacity:.8}header a{color:#9cc4ff}\
main{padding:8px 24px 32px}section{background:#fff;border-radius:6px;padding:8px 16px 16px;margin:16px 0;\
box-shadow:0 1px 2px rgba(0,0,0,.08)}h2{font-size:17px;margin:8px 0}h3{font-size:15px;margin:16px 0 4px}\
h3 small{font-weight:normal;color:#667}table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}\
th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #e3e7ee}th{font-weight:600;color:#445}\
td[data-value]{text-align:right}tr.lagging td{background:#fff1f0}.badge{background:#d93025;color:#fff;\
border-radius:3px;padding:1px 6px;font-size:12px;font-weight:600}.group.lagging h3{color:#b3261e}\
.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:8px 0}.updated,.empty{color:#667}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_cluster_is_escaped_and_figures_keep_their_exact_value() {
        assert_eq!(escape("<g\"&'>"), "&lt;g&quot;&amp;&#39;&gt;");
        assert_eq!(
            number_cell("x", Some(1536.0), bytes),
            "<td data-field=\"x\" data-value=\"1536\">1.5 KiB</td>"
        );
        assert_eq!(number_cell("x", None, bytes), "<td data-field=\"x\">-</td>");
        assert_eq!(clock(3_723_000), "01:02:03");
    }

    #[test]
    fn a_group_above_a_threshold_is_marked_lagging_on_its_row_and_its_detail() {
        use lag_exporter::view::TopicLag;
        let row = |group: &str, lag: i64| GroupRow {
            group: group.into(),
            state: "Stable".into(),
            lagging: lag > 100,
            members: Vec::new(),
            topics: vec![TopicLag {
                topic: "metrics".into(),
                records_lag_max: Some(lag),
                lag_sum: Some(lag),
                lag_seconds: Some(0.5),
                partitions_uncommitted: 0,
                retention_margin_seconds: None,
                records_lost: Some(0),
                partitions: Vec::new(),
            }],
            lag_history: Vec::new(),
        };
        let snapshot = Snapshot {
            groups: vec![row("behind", 101), row("fine", 100)],
            ..Snapshot::default()
        };
        let html = fragment(
            &snapshot,
            &Lagging {
                records: 100,
                seconds: 300.0,
            },
        );
        let marked = |group: &str| {
            let start = html.find(&format!("<tr data-group=\"{group}\"")).unwrap();
            let row = &html[start..start + html[start..].find("</tr>").unwrap()];
            row.contains("class=\"lagging\"") && row.contains(">LAGGING<")
        };
        assert!(marked("behind") && !marked("fine"), "{html}");
        assert!(html.contains("<div class=\"group lagging\" data-group=\"behind\">"));
        assert!(html.contains("<div class=\"group\" data-group=\"fine\">"));
    }
}
