"""Checks of scripts/check-deploy.sh that need more than a shell: the rendered chart's
containers run against the real binaries, the values schema against `urr serve --help`,
the Prometheus Operator objects against their models, the Docker build context.

Runs in the tools venv of check-deploy.sh (PyYAML, pydantic models of prometheus-operator).
Each command prints what it checked and exits non-zero on the first kind of failure.
"""

import argparse
import base64
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import yaml

# What the chart hands a pod that a laptop has no value for: plausible stand-ins.
POD_FIELDS = {"metadata.name": "urr-6d9c7b5f4-x2x4q", "status.podIP": "10.244.1.17"}
SECRET_STANDINS = {
    "DATABASE_URL": "postgres://urr:stand-in@db.example.internal:5432/urr",
    "REDIS_URL": "redis://:stand-in@redis.example.internal:6379/",
    "URR_JWT_SECRET": "stand-in-token-secret-of-at-least-32-bytes",
    "URR_TOSS_SECRET_KEY": "stand-in-toss-key",
    "URR_VWR_ADMIN_KEY": "stand-in-admin-key",
    "password": "standinpassword",
}
# Settings the chart sets itself (never in values' config) and the ones that only matter
# when no DATABASE_URL/REDIS_URL is given, which the chart never allows. URR_CLUSTER_SECRET
# is left unset: each node derives it from URR_JWT_SECRET, which every pod shares.
CHART_MANAGED = {
    "URR_LISTEN", "URR_NODE_ID", "URR_ADVERTISE_URL", "DATABASE_URL", "REDIS_URL",
    "URR_JWT_SECRET", "URR_TOSS_SECRET_KEY", "URR_VWR_ADMIN_KEY",
    "URR_METRICS_LISTEN", "URR_METRICS_TOKEN", "URR_CLUSTER_SECRET", "URR_VWR_CAPTCHA_SECRET",
}
LOCAL_ONLY = {
    "URR_DEFAULT_POSTGRES_PORT", "URR_DEFAULT_REDIS_PORT", "URR_DATABASE_NAME",
    "URR_DEV_DIR", "URR_POSTGRES_BIN_DIR",
}


def fail(message):
    print(f"  FAIL {message}")
    sys.exit(1)


def documents(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def help_env_names(binary, *args):
    """The environment names a clap command documents in its --help."""
    out = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, check=True)
    # `[env: NAME=value]`, or `[env: NAME]` for a secret (hide_env_values).
    return set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", out.stdout))


# --- values.schema.json against `urr serve --help` ---------------------------------------

def config_keys(schema_path, urr):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    allowed = set(schema["properties"]["config"]["properties"])
    serve = help_env_names(urr, "serve")
    if not serve:
        fail("`urr serve --help` lists no environment names")
    unknown = allowed - serve
    missing = serve - allowed - CHART_MANAGED - LOCAL_ONLY
    managed_in_schema = allowed & CHART_MANAGED
    if unknown:
        fail(f"values.schema.json allows settings `urr serve` does not have: {sorted(unknown)}")
    if missing:
        fail(f"`urr serve` settings missing from values.schema.json config: {sorted(missing)}")
    if managed_in_schema:
        fail(f"values.schema.json lets config set what the chart sets: {sorted(managed_in_schema)}")
    print(f"  config: {len(allowed)} settings in the schema, {len(CHART_MANAGED)} set by the"
          f" chart, {len(LOCAL_ONLY)} local-only: all {len(serve)} of `urr serve` accounted for")


# --- containers against the binaries ---------------------------------------------------------

def index_objects(docs):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    return by_kind


def data_of(obj):
    if obj is None:
        return None
    if obj["kind"] == "Secret":
        data = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
        data.update(obj.get("stringData") or {})
        return data
    return dict(obj.get("data") or {})


def expand(value, env):
    """Kubernetes' $(VAR) expansion from the variables defined before."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: env.get(m.group(1), m.group(0)), value)


def container_env(container, objects, where):
    env = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef") or source.get("secretRef")
        kind = "ConfigMap" if "configMapRef" in source else "Secret"
        data = data_of(objects.get(kind, {}).get(ref["name"]))
        if data is None:
            fail(f"{where}: envFrom {kind} {ref['name']} is not rendered by the chart")
        env.update({k: str(v) for k, v in data.items()})
    for var in container.get("env") or []:
        name = var["name"]
        if "value" in var:
            env[name] = expand(str(var["value"]), env)
            continue
        ref = var["valueFrom"]
        if "fieldRef" in ref:
            path = ref["fieldRef"]["fieldPath"]
            if path not in POD_FIELDS:
                fail(f"{where}: {name} from pod field {path}, which this check cannot stand in for")
            env[name] = POD_FIELDS[path]
        elif "secretKeyRef" in ref or "configMapKeyRef" in ref:
            kind = "Secret" if "secretKeyRef" in ref else "ConfigMap"
            key_ref = ref.get("secretKeyRef") or ref.get("configMapKeyRef")
            data = data_of(objects.get(kind, {}).get(key_ref["name"]))
            if data is None:
                # A Secret the operator makes (secrets.existingSecret): stand in for it.
                key = "DATABASE_URL" if key_ref["key"].endswith("DATABASE_URL") else key_ref["key"]
                if key not in SECRET_STANDINS and key_ref.get("optional"):
                    # An optional key the operator's Secret may well not have.
                    continue
                if key not in SECRET_STANDINS:
                    fail(f"{where}: {name} from {kind} {key_ref['name']} key {key_ref['key']}: unknown")
                env[name] = SECRET_STANDINS[key]
            elif key_ref["key"] in data:
                env[name] = data[key_ref["key"]]
            elif not key_ref.get("optional"):
                fail(f"{where}: {name}: {kind} {key_ref['name']} has no key {key_ref['key']}")
        else:
            fail(f"{where}: {name} has a valueFrom this check does not know: {ref}")
    return env


def workloads(docs):
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "Job"):
            spec = d["spec"]["template"]["spec"]
            for c in spec["containers"]:
                yield d, c


def run_checked(argv, env, where):
    clean = {"PATH": "/usr/bin:/bin", **env}
    out = subprocess.run(argv, env=clean, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        fail(f"{where}: `{' '.join(argv[1:])}` exited {out.returncode}:\n{out.stdout}{out.stderr}")
    return out.stdout


def containers(render, urr, vwr_api, strict_warnings):
    docs = documents(render)
    objects = index_objects(docs)
    urr_env = help_env_names(urr, "serve")
    vwr_env = help_env_names(vwr_api)
    name = os.path.basename(render)
    seen = 0
    for workload, container in workloads(docs):
        args = (container.get("command") or []) + (container.get("args") or [])
        where = f"{name} {workload['kind']}/{workload['metadata']['name']} {container['name']}"
        if not args or args[0] not in ("urr", "vwr-api"):
            continue  # Redis and PostgreSQL images: not ours.
        seen += 1
        env = container_env(container, objects, where)
        # The shared ConfigMap may hold either binary's settings; what the container
        # sets itself must be its own binary's.
        own = urr_env if args[0] == "urr" else vwr_env
        explicit = {var["name"] for var in container.get("env") or []}
        typos = {k for k in env if k.startswith("URR_") and k not in urr_env | vwr_env}
        typos |= {k for k in explicit if k.startswith("URR_") and k not in own}
        typos = sorted(typos)
        if typos:
            fail(f"{where}: environment that `{args[0]}` does not read: {typos}")
        if args[:2] == ["urr", "serve"]:
            out = run_checked([urr, *args[1:], "--check-config"], env, where)
            warnings = [line for line in out.splitlines() if line.startswith("warning:")]
            identity = [" ".join(line.split()) for line in out.splitlines()
                        if line.strip().startswith(("node id", "advertise URL"))]
            print(f"  {where}: `urr serve --check-config` passed; {'; '.join(identity)}")
            for line in warnings:
                print(f"    {line}")
            if strict_warnings and warnings:
                fail(f"{where}: a production configuration should have no warnings")
        elif args[0] == "urr":
            # No dry run for other commands: the subcommand and its flags must parse.
            run_checked([urr, *args[1:], "--help"], env, where)
            print(f"  {where}: `urr {' '.join(args[1:])}` parses; its environment is known to urr")
        elif args[0] == "vwr-api":
            run_checked([vwr_api, *args[1:], "--help"], env, where)
            print(f"  {where}: `{' '.join(args)}` parses; its environment is known to {args[0]}")
    if not seen:
        fail(f"{name}: no URR container rendered")


# --- Prometheus Operator objects --------------------------------------------------------------

def prometheus_objects(renders):
    from cloudcoil.models.prometheus_operator import v1

    checked = 0
    for render in renders:
        for d in documents(render):
            if d.get("apiVersion") != "monitoring.coreos.com/v1":
                continue
            model = getattr(v1, d["kind"], None)
            if model is None:
                fail(f"{render}: no model for {d['kind']}")
            parsed = model.model_validate(d)
            # The models ignore unknown fields; what they dropped was not a field.
            again = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
            if again != d:
                fail(f"{render}: {d['kind']}/{d['metadata']['name']} has fields the CRD lacks:"
                     f"\n  rendered {d}\n  known    {again}")
            checked += 1
            print(f"  {os.path.basename(render)}: {d['kind']}/{d['metadata']['name']} matches the CRD")
    if not checked:
        fail("no monitoring.coreos.com object rendered (the production example enables one)")


# --- the Docker build context -------------------------------------------------------------------

# Cargo's declared target tables and the folder of each kind's default path.
DECLARED_TARGETS = {"bin": "src/bin", "bench": "benches", "test": "tests", "example": "examples"}


def dockerignore_patterns(root):
    patterns = []
    with open(os.path.join(root, ".dockerignore"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line.lstrip("/"))
    return patterns


def ignored(path, patterns):
    """Docker's rule for the patterns used here: a match of the path or a parent excludes."""
    parts = path.split("/")
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern[1:] if negate else pattern
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(parts[i - 1], pattern[3:])
            ):
                result = not negate
                break
    return result


def build_context(root):
    patterns = dockerignore_patterns(root)
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=root, capture_output=True, text=True, check=True).stdout.split()
    kept = [p for p in files if os.path.exists(os.path.join(root, p)) and not ignored(p, patterns)]
    with tempfile.TemporaryDirectory() as context:
        for path in kept:
            os.makedirs(os.path.dirname(os.path.join(context, path)), exist_ok=True)
            shutil.copy2(os.path.join(root, path), os.path.join(context, path))
        # The Dockerfile's build: every manifest and declared target must be in the
        # context, and the lock file must match them (`--locked`, as the image builds).
        # cargo reads them all without compiling; the dependencies' sources are the
        # ones this machine already has.
        metadata = ["cargo", "metadata", "--locked", "--offline", "--no-deps", "--format-version", "1"]
        out = subprocess.run(metadata, cwd=context, capture_output=True, text=True)
        if out.returncode != 0:
            fail(f"cargo cannot read the workspace in the Docker build context:\n{out.stderr}")
        packages = json.loads(out.stdout)["packages"]
        names = {p["name"] for p in packages}
        for needed in ("urr", "urr-vwr"):
            if needed not in names:
                fail(f"the build context lacks package {needed}")
        # cargo metadata quietly drops a declared target whose file is missing (a
        # [[bench]] excluded from the context); look for each one's source here.
        missing = []
        for package in packages:
            with open(package["manifest_path"], "rb") as f:
                manifest = tomllib.load(f)
            base = os.path.dirname(package["manifest_path"])
            for kind, folder in DECLARED_TARGETS.items():
                for target in manifest.get(kind, []):
                    path = target.get("path") or f"{folder}/{target['name']}.rs"
                    if not os.path.exists(os.path.join(base, path)):
                        missing.append(os.path.relpath(os.path.join(base, path), context))
        if missing:
            fail(f"the build context lacks declared targets' sources: {sorted(missing)}")
        tree = ["cargo", "tree", "--locked", "--offline", "-p", "urr", "-p", "urr-vwr", "--depth", "0"]
        out = subprocess.run(tree, cwd=context, capture_output=True, text=True,
                             env={**os.environ, "CARGO_TARGET_DIR": os.path.join(context, "target")})
        if out.returncode != 0:
            fail(f"the lock file does not resolve in the Docker build context:\n{out.stderr}")
        for needed in ("crates/store/migrations", "crates/web/assets", "proto/urr"):
            if not os.path.isdir(os.path.join(context, needed)):
                fail(f"the build context lacks {needed}")
    print(f"  Docker build context: {len(kept)} of {len(files)} files; cargo reads the workspace")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("config-keys")
    p.add_argument("schema")
    p.add_argument("urr")
    p = sub.add_parser("containers")
    p.add_argument("render")
    p.add_argument("urr")
    p.add_argument("vwr_api")
    p.add_argument("--no-warnings", action="store_true")
    p = sub.add_parser("prometheus")
    p.add_argument("renders", nargs="+")
    p = sub.add_parser("build-context")
    p.add_argument("root")
    args = parser.parse_args()
    if args.command == "config-keys":
        config_keys(args.schema, args.urr)
    elif args.command == "containers":
        containers(args.render, args.urr, args.vwr_api, args.no_warnings)
    elif args.command == "prometheus":
        prometheus_objects(args.renders)
    else:
        build_context(args.root)


if __name__ == "__main__":
    main()
