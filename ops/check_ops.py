#!/usr/bin/env python3
"""Static checks of ops/ that promtool cannot do (run by ops/check.sh from the repository root).

1. Metric names: every metric that a PromQL expression in ops/prometheus/rules.yml, the series of
   ops/prometheus/rules_test.yml or ops/grafana/confab-dashboard.json names must be exported by
   the Rust sources (a "confab_*" string literal in engine, gateway, signalling or storage), be
   a process collector metric, `up`, or a recording rule of rules.yml. Names listed in
   ops/metrics-pending.txt (being added on other branches) pass with a notice.
   Histogram series (_bucket, _sum, _count) of a known histogram pass.
2. Label names: a selector `metric{label...}` on a known metric may only use the metric's own
   labels (read from the `&["..."]` list next to its name in the sources, or from
   metrics-pending.txt), plus job, instance and, on _bucket, le.
   `--dashboard-rules FILE` instead writes the dashboard's queries as recording rules, for
   `promtool check rules` to parse (ops/check.sh does).
3. The dashboard: JSON that Grafana accepts (schemaVersion, unique panel ids, a datasource on
   every query, the DS_PROMETHEUS and instance variables) and identical to what
   ops/grafana/dashboard.py generates.
4. Kubernetes and compose YAML: parses; every Kubernetes object has apiVersion, kind and
   metadata.name; the Secret template has no values; the confab container probes /readyz and
   /healthz; compose bind mounts exist (or are listed as pending); secrets are `${VAR:?}`
   placeholders.
5. Configuration: every CONFAB_* variable set in ops/deploy must be one gateway/src/config.rs
   reads, and every key of the confab.toml files must be in README.md's configuration table
   (storage.scylla.* checked against ScyllaConfig's fields).
"""

import json
import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

import yaml

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "ops"
SOURCE_DIRS = ["engine", "gateway", "signalling", "storage"]
PROCESS_METRICS = {
    # prometheus crate 0.14, feature "process" (Linux): what `/metrics` shows.
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_virtual_memory_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_threads",
}
BUILTIN = {"up"}
COMMON_LABELS = {"job", "instance"}
# Files that another branch provides (checked when present).
PENDING_FILES = {"ops/coturn/turnserver.conf"}

errors = []
notices = []


def error(msg):
    errors.append(msg)


# --- what the sources export --------------------------------------------------------------


def source_metrics():
    """name -> set of label names, or None when the labels could not be read."""
    found = {}
    for d in SOURCE_DIRS:
        for path in (ROOT / d).rglob("*.rs"):
            if "target" in path.parts:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for m in re.finditer(r'"(confab_[a-z0-9_]+)"', text):
                name = m.group(1)
                # The constructor's arguments run to the first `)?` (and never past the
                # next metric name): look for an `&["a", "b"]` label list there.
                tail = text[m.end() : m.end() + 600]
                for stop in ('"confab_', ")?"):
                    at = tail.find(stop)
                    if at >= 0:
                        tail = tail[: at + 2]
                labels = None
                lm = re.search(r"&\[([^\]]*)\]", tail)
                if lm:
                    labels = set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', lm.group(1)))
                prev = found.get(name, "absent")
                if prev == "absent":
                    found[name] = labels
                elif labels is not None:
                    found[name] = (prev or set()) | labels
    return found


def pending_metrics():
    out = {}
    path = OPS / "metrics-pending.txt"
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        labels = set() if len(parts) < 2 or parts[1] == "-" else set(parts[1].split(","))
        out[parts[0]] = labels
    return out


# --- PromQL scanning ------------------------------------------------------------------------

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
IDENT = re.compile(r"(?<![A-Za-z0-9_:$.])([A-Za-z_:][A-Za-z0-9_:]*)")
SELECTOR = re.compile(r"(?<![A-Za-z0-9_:$.])([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")


def metric_names(expr):
    """Identifiers in `expr` that name metrics or recording rules (strings removed)."""
    bare = STRING.sub('""', expr)
    names = set()
    for m in IDENT.finditer(bare):
        tok = m.group(1)
        if tok.startswith(("confab_", "process_")) or ":" in tok or tok in BUILTIN:
            names.add(tok)
    return names


def selector_labels(expr):
    """(metric, {label names}) for every `metric{...}` selector in `expr`."""
    out = []
    for m in SELECTOR.finditer(expr):
        body = STRING.sub('""', m.group(2))
        out.append((m.group(1), set(MATCHER_LABEL.findall(body))))
    return out


class Names:
    def __init__(self, rules):
        self.source = source_metrics()
        self.pending = pending_metrics()
        self.rules = rules
        self.pending_used = set()

    def base(self, name):
        """(known metric name, is_bucket) for `name`, or (None, False)."""
        for cand, bucket in ((name, False),):
            if cand in self.source or cand in self.pending:
                return cand, bucket
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                b = name[: -len(suffix)]
                if b in self.source or b in self.pending:
                    return b, suffix == "_bucket"
        return None, False

    def check(self, where, expr):
        for name in sorted(metric_names(expr)):
            if name in self.rules or name in BUILTIN or name in PROCESS_METRICS:
                continue
            if ":" in name:
                error(f"{where}: {name} looks like a recording rule but rules.yml does not record it")
                continue
            b, _ = self.base(name)
            if b is None:
                error(f"{where}: unknown metric {name} (not in the Rust sources nor ops/metrics-pending.txt)")
            elif b not in self.source:
                self.pending_used.add(b)
        for metric, labels in selector_labels(expr):
            if metric in self.rules or metric in BUILTIN or ":" in metric:
                continue
            if metric in PROCESS_METRICS:
                allowed = set(COMMON_LABELS)
            else:
                b, bucket = self.base(metric)
                if b is None:
                    continue  # reported above
                known = self.source.get(b) if b in self.source else self.pending.get(b)
                if known is None:
                    continue  # labels not readable from the source: do not guess
                allowed = known | COMMON_LABELS | ({"le"} if bucket else set())
            bad = labels - allowed
            if bad:
                error(f"{where}: {metric} has no label(s) {sorted(bad)} (has {sorted(allowed)})")


# --- checks ---------------------------------------------------------------------------------


def check_rules(names):
    rules = yaml.safe_load((OPS / "prometheus/rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            what = rule.get("record") or rule.get("alert")
            names.check(f"rules.yml {what}", rule["expr"])
            if "alert" in rule:
                labels = rule.get("labels", {})
                ann = rule.get("annotations", {})
                if labels.get("severity") not in ("critical", "warning", "info"):
                    error(f"rules.yml {what}: severity label must be critical, warning or info")
                if not ann.get("summary") or not ann.get("description"):
                    error(f"rules.yml {what}: needs summary and description annotations")
    tests = yaml.safe_load((OPS / "prometheus/rules_test.yml").read_text())
    for i, test in enumerate(tests["tests"]):
        for s in test.get("input_series", []):
            names.check(f"rules_test.yml test {i + 1} series", s["series"])
        for e in test.get("promql_expr_test", []):
            names.check(f"rules_test.yml test {i + 1} expr", e["expr"])


def recording_rule_names():
    rules = yaml.safe_load((OPS / "prometheus/rules.yml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def check_dashboard(names):
    path = OPS / "grafana/confab-dashboard.json"
    try:
        dash = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        error(f"{path.name}: not JSON: {e}")
        return
    if not 36 <= int(dash.get("schemaVersion", 0)) <= 41:
        error(f"{path.name}: schemaVersion {dash.get('schemaVersion')} (expected ~39)")
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource":
        error(f"{path.name}: needs a DS_PROMETHEUS datasource variable")
    if "instance" not in variables:
        error(f"{path.name}: needs an instance variable")
    for v in variables.values():
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        if v.get("type") == "query":
            names.check(f"{path.name} variable {v['name']}", q or "")
    ids = set()
    rows = 0
    for p in walk_panels(dash.get("panels", [])):
        pid = p.get("id")
        if pid in ids:
            error(f"{path.name}: duplicate panel id {pid}")
        ids.add(pid)
        if p.get("type") == "row":
            rows += 1
            continue
        if "gridPos" not in p:
            error(f"{path.name}: panel {p.get('title')!r} has no gridPos")
        targets = p.get("targets", [])
        if not targets:
            error(f"{path.name}: panel {p.get('title')!r} has no query")
        for t in targets:
            if t.get("datasource", {}).get("uid") != "${DS_PROMETHEUS}":
                error(f"{path.name}: panel {p.get('title')!r} does not use ${{DS_PROMETHEUS}}")
            expr = t.get("expr", "")
            if not expr:
                error(f"{path.name}: panel {p.get('title')!r} has an empty expr")
            names.check(f"{path.name} panel {p.get('title')!r}", expr)
    if rows < 9:
        error(f"{path.name}: {rows} rows, expected the 9 of ops/README.md")
    gen = subprocess.run(
        [sys.executable, str(OPS / "grafana/dashboard.py"), "--check"], capture_output=True, text=True
    )
    if gen.returncode != 0:
        error(f"{path.name}: {gen.stderr.strip()}")


def config_env_names():
    text = (ROOT / "gateway/src/config.rs").read_text()
    return set(re.findall(r'"(CONFAB_[A-Z0-9_]+)"', text))


def config_keys():
    """Dotted keys of README.md's configuration table, storage.scylla.* expanded."""
    keys = set()
    for line in (ROOT / "README.md").read_text().splitlines():
        m = re.match(r"\|\s*`([a-z_.*]+)`\s*\|", line)
        if m:
            keys.add(m.group(1))
    scylla = (ROOT / "storage/src/scylla/config.rs").read_text()
    body = scylla[scylla.index("pub struct ScyllaConfig") :]
    body = body[: body.index("}")]
    if "storage.scylla.*" in keys:
        keys.discard("storage.scylla.*")
        keys |= {f"storage.scylla.{f}" for f in re.findall(r"pub (\w+):", body)}
    return keys


def flatten(d, prefix=""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from flatten(v, key + ".")
        else:
            yield key


def check_toml(where, text, keys):
    if tomllib is None:
        notices.append(f"{where}: TOML keys not checked (Python < 3.11 has no tomllib)")
        return
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        error(f"{where}: invalid TOML: {e}")
        return
    for key in flatten(data):
        if key not in keys:
            error(f"{where}: config key {key} is not in README.md's configuration table")


def check_env(where, env, env_names):
    items = env.items() if isinstance(env, dict) else (e.split("=", 1) if "=" in e else (e, "") for e in env)
    for name, value in items:
        if name.startswith("CONFAB_") and name not in env_names:
            error(f"{where}: {name} is not a variable gateway/src/config.rs reads")
        if re.search(r"SECRET|PASSWORD|TOKEN|KEY", name) and value is not None:
            v = str(value)
            if v and not re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", v):
                error(f"{where}: {name} must be a ${{VAR:?}} placeholder, not a value")


def check_compose(env_names, keys):
    base = OPS / "deploy/compose"
    path = base / "docker-compose.yml"
    doc = yaml.safe_load(path.read_text())
    services = doc.get("services", {})
    for want in ("confab-1", "scylla-1", "scylla-2", "scylla-3", "redis", "coturn", "prometheus", "grafana", "lb"):
        if want not in services:
            error(f"docker-compose.yml: no service {want}")
    for name, svc in services.items():
        check_env(f"docker-compose.yml {name}", svc.get("environment", {}), env_names)
        for vol in svc.get("volumes", []):
            src = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if src.startswith("."):
                real = (base / src).resolve()
                rel = real.relative_to(ROOT).as_posix() if real.is_relative_to(ROOT) else str(real)
                if not real.exists():
                    if rel in PENDING_FILES:
                        notices.append(f"docker-compose.yml {name}: {rel} comes from another branch (not here yet)")
                    else:
                        error(f"docker-compose.yml {name}: bind mount {src} does not exist")
    check_toml("compose/confab.toml", (base / "confab.toml").read_text(), keys)
    for line in (base / ".env.example").read_text().splitlines():
        if re.match(r"[A-Z_]*(SECRET|PASSWORD)[A-Z_]*=.+", line):
            error(f".env.example: {line.split('=')[0]} must be left empty")


def check_k8s(env_names, keys):
    kdir = OPS / "deploy/k8s"
    for path in sorted(kdir.rglob("*.yaml")):
        rel = path.relative_to(OPS).as_posix()
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as e:
            error(f"{rel}: invalid YAML: {e}")
            continue
        for d in docs:
            if path.name == "kustomization.yaml":
                for r in d.get("resources", []):
                    if not (kdir / r).exists():
                        error(f"{rel}: resource {r} does not exist")
                continue
            for field in ("apiVersion", "kind"):
                if field not in d:
                    error(f"{rel}: an object has no {field}")
            name = d.get("metadata", {}).get("name")
            if not name:
                error(f"{rel}: a {d.get('kind')} has no metadata.name")
            kind = d.get("kind")
            if kind == "Secret":
                for k, v in {**d.get("data", {}), **d.get("stringData", {})}.items():
                    if v:
                        error(f"{rel}: Secret {name} key {k} has a value: keep templates empty")
            if kind == "ConfigMap":
                for k, v in d.get("data", {}).items():
                    if k.endswith(".toml"):
                        check_toml(f"{rel} {k}", v, keys)
            spec = d.get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []):
                check_env(f"{rel} {c['name']}", {e["name"]: e.get("value") for e in c.get("env", [])}, env_names)
                if kind == "Deployment" and c["name"] == "confab":
                    if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
                        error(f"{rel}: confab readinessProbe must GET /readyz")
                    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
                        error(f"{rel}: confab livenessProbe must GET /healthz")
                    if "preStop" not in c.get("lifecycle", {}):
                        error(f"{rel}: confab needs a preStop hook")
                    if spec.get("terminationGracePeriodSeconds", 30) < 20:
                        error(f"{rel}: terminationGracePeriodSeconds too short for the drain")


def dashboard_as_rules(out):
    """Writes every dashboard query as a recording rule, so `promtool check rules` parses the
    PromQL offline (Grafana variables replaced by plausible values)."""
    dash = json.loads((OPS / "grafana/confab-dashboard.json").read_text())
    rules = []
    for p in walk_panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            expr = t.get("expr", "")
            for var, value in (("$__rate_interval", "1m"), ("$job", "confab"), ("$instance", ".*")):
                expr = expr.replace(var, value)
            rules.append({"record": f"dashboard:panel_{p['id']}_{t['refId']}", "expr": expr})
    Path(out).write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    print(f"   {len(rules)} dashboard queries written for promtool")
    return 0


def main():
    if sys.argv[1:2] == ["--dashboard-rules"]:
        return dashboard_as_rules(sys.argv[2])
    rules = recording_rule_names()
    names = Names(rules)
    check_rules(names)
    check_dashboard(names)
    env_names = config_env_names()
    keys = config_keys()
    check_compose(env_names, keys)
    check_k8s(env_names, keys)
    for p in sorted(names.pending_used):
        notices.append(f"metric {p}: not in the sources yet (ops/metrics-pending.txt)")
    for n in notices:
        print(f"   note: {n}")
    if errors:
        for e in errors:
            print(f"   FAIL: {e}", file=sys.stderr)
        print(f"ops check: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"   metrics, labels, dashboard, compose, k8s and config keys: ok "
          f"({len(names.source)} metrics in the sources, {len(rules)} recording rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
