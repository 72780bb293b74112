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
# The functions deploy the zips package.sh builds: dist/<arch>/<binary>.zip, for the
# architecture the template declares, one per binary.
arch=$(sed -n '/Architectures:/{n;s/^ *- *//p;q}' "$here/template.yaml")
for bin in vwr-api vwr-advancer; do
    if ! grep -q "CodeUri: dist/$arch/$bin.zip\$" "$here/template.yaml"; then
        echo "deploy/template.yaml: no function deploys dist/$arch/$bin.zip" >&2
        exit 1
    fi
done
if [ "$(grep -c 'CodeUri:' "$here/template.yaml")" != 2 ]; then
    echo "deploy/template.yaml: a CodeUri that package.sh does not build" >&2
    exit 1
fi
echo "deploy/template.yaml: deploys package.sh's dist/$arch zips"
