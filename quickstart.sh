#!/usr/bin/env bash
# tangle quick start: one command to set up, build and then either run tangle
# on a sample (`demo`) or run the whole test suite (`test`). Idempotent: it
# installs only missing Debian packages and reuses an existing build.
#
#   sudo ./quickstart.sh demo     # fresh Debian 12: deps, build, tangle on a sample
#   sudo ./quickstart.sh test     # the same set-up, then every test
set -euo pipefail
cd "$(dirname "$0")"

what=${1:-demo}
case "$what" in
  demo|test|setup) ;;
  *) echo "usage: $0 demo|test|setup" >&2; exit 2 ;;
esac

packages=(meson ninja-build pkg-config gcc clang libunwind-dev libncurses-dev
          libdw-dev libelf-dev libcriterion-dev tmux python3 valgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "quickstart: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

case "$what" in
  setup)
    echo "quickstart: built; the tool is build/cli/tangle" >&2 ;;
  demo)
    # The notes' ABBA deadlock: tangle reports it while it happens, ends the
    # program and exits with the findings status (66).
    echo "quickstart: build/cli/tangle run -o abba.trace -- build/samples/abba_mythread 1" >&2
    set +e
    build/cli/tangle run -o abba.trace -- build/samples/abba_mythread 1
    status=$?
    set -e
    echo "quickstart: tangle exited with $status (66 = findings); browse it with: build/cli/tangle view abba.trace" >&2
    [ "$status" -eq 66 ] ;;
  test)
    # tests/reports validates SARIF against the SARIF 2.1.0 schema: ajv and
    # the schema (shipped in @microsoft/jest-sarif) from the npm registry,
    # installed once per build directory; the demo does not need them
    if [ ! -f build/npm/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json ] ||
       [ ! -d build/npm/node_modules/ajv ]; then
      if ! command -v npm >/dev/null; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "quickstart: installing nodejs npm" >&2
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
      fi
      echo "quickstart: installing the SARIF validator in build/npm" >&2
      npm install --prefix build/npm --no-audit --no-fund --no-save --loglevel=error \
        @microsoft/jest-sarif@1.0.0-beta.0 ajv@6.12.6 >/dev/null
    fi
    set +e
    meson test -C build --print-errorlogs --num-processes 2
    status=$?
    set -e
    python3 tests/summarize.py build/meson-logs/testlog.json
    exit $status ;;
esac
