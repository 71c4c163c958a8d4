//! One set of figures, printed as a human table and (with `--json FILE`) written as JSON.

use std::time::Instant;

use serde_json::{Map, Value};

use crate::stats::{self, Hist, Local, H, HIST_NAMES};

pub fn round(x: f64, decimals: i32) -> f64 {
    let m = 10f64.powi(decimals);
    (x * m).round() / m
}

fn us(ns: u64) -> f64 {
    round(ns as f64 / 1000.0, 1)
}

/// Percentiles of a histogram of nanoseconds, in µs.
pub fn latency(h: &Hist) -> Value {
    serde_json::json!({
        "count": h.count,
        "p50": us(h.quantile(0.50)),
        "p90": us(h.quantile(0.90)),
        "p99": us(h.quantile(0.99)),
        "p99_9": us(h.quantile(0.999)),
        "max": us(h.max),
        "mean": round(h.mean() / 1000.0, 1),
    })
}

pub struct Report {
    scenario: &'static str,
    sections: Vec<(&'static str, Map<String, Value>)>,
}

impl Report {
    pub fn new(scenario: &'static str) -> Report {
        Report {
            scenario,
            sections: Vec::new(),
        }
    }

    pub fn set(&mut self, section: &'static str, key: &str, v: impl Into<Value>) {
        let i = match self.sections.iter().position(|(s, _)| *s == section) {
            Some(i) => i,
            None => {
                self.sections.push((section, Map::new()));
                self.sections.len() - 1
            }
        };
        self.sections[i].1.insert(key.to_string(), v.into());
    }

    /// The non-empty histograms among `which`, under `latency_us`.
    pub fn latencies(&mut self, l: &Local, which: &[H]) {
        for &h in which {
            if l.h(h).count > 0 {
                self.set("latency_us", HIST_NAMES[h as usize], latency(l.h(h)));
            }
        }
    }

    /// The error tally, with its total.
    pub fn errors(&mut self) {
        let errs = stats::errors();
        self.set("errors", "total", errs.values().sum::<u64>());
        for (k, v) in errs {
            self.set("errors", &k, v);
        }
    }

    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        root.insert("scenario".into(), self.scenario.into());
        for (s, m) in &self.sections {
            root.insert((*s).into(), Value::Object(m.clone()));
        }
        Value::Object(root)
    }

    pub fn print(&self) {
        println!();
        println!("== confab-load {} ==", self.scenario);
        for (section, m) in &self.sections {
            if *section == "latency_us" {
                println!("latency (µs)            count        p50        p90        p99      p99.9        max       mean");
                for (name, v) in m {
                    let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
                    println!(
                        "  {:<20}{:>7}{:>11.1}{:>11.1}{:>11.1}{:>11.1}{:>11.1}{:>11.1}",
                        name,
                        v["count"].as_u64().unwrap_or(0),
                        f("p50"),
                        f("p90"),
                        f("p99"),
                        f("p99_9"),
                        f("max"),
                        f("mean")
                    );
                }
                continue;
            }
            println!("{section}:");
            for (k, v) in m {
                let shown = match v {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                println!("  {k:<34} {shown}");
            }
        }
    }

    pub fn emit(&self, json_path: Option<&str>) -> Result<(), String> {
        self.print();
        if let Some(p) = json_path {
            let text = serde_json::to_string_pretty(&self.to_json()).map_err(|e| e.to_string())?;
            std::fs::write(p, text + "\n").map_err(|e| format!("{p}: {e}"))?;
            println!("(written to {p})");
        }
        Ok(())
    }
}

/// CPU time of this process and of the server at one moment.
pub struct Probe {
    at: Instant,
    client: Option<f64>,
    server: Option<f64>,
}

impl Probe {
    pub fn now(server_pid: Option<u32>) -> Probe {
        Probe {
            at: Instant::now(),
            client: stats::cpu_secs(None),
            server: server_pid.and_then(|p| stats::cpu_secs(Some(p))),
        }
    }

    /// CPU seconds used between `self` and `end`, and the average number of cores busy.
    pub fn report(&self, end: &Probe, r: &mut Report, label: &str) {
        let wall = end.at.duration_since(self.at).as_secs_f64().max(1e-9);
        if let (Some(a), Some(b)) = (self.client, end.client) {
            r.set("client", &format!("cpu_secs_{label}"), round(b - a, 2));
            r.set(
                "client",
                &format!("cores_busy_{label}"),
                round((b - a) / wall, 2),
            );
        }
        if let (Some(a), Some(b)) = (self.server, end.server) {
            r.set("server", &format!("cpu_secs_{label}"), round(b - a, 2));
            r.set(
                "server",
                &format!("cores_busy_{label}"),
                round((b - a) / wall, 2),
            );
        }
    }
}
