#!/usr/bin/env sh
# Lints the waiting room's deployment template with cfn-lint (PyPI: cfn-lint).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v cfn-lint >/dev/null 2>&1; then
    echo "cfn-lint not found; install it with: python3 -m pip install cfn-lint" >&2
    exit 1
fi
cfn-lint "$here/template.yaml"
echo "deploy/template.yaml: cfn-lint clean"
