#!/usr/bin/env bash
# The prerequisites of `make demo` / `make test` (and .ci/run), checked before any download.
#
#   infra/prereqs.sh demo   # what `make demo` / `make up` need: Python + venv, Java 17, Maven,
#                           # redis-server
#   infra/prereqs.sh test   # the above plus what `make test` needs: openssl (JUnit TLS tests make
#                           # certificates), redis-benchmark (lookup benchmark test), make
#
# Missing tools are installed where the machine lets it: Debian (apt-get) and root or
# passwordless sudo. Elsewhere, one line per missing tool with the command to get it, and exit 2.
# USERPULSE_PREREQS_INSTALL=0 never installs (only reports), =1 always tries (CI); unset: auto.
# Runs in well under a second: only bash builtins and `java -version` / `python -c`.
#
# Extension point: each tool is a `check_<tool>` function that prints nothing when the tool is
# usable and else calls `missing <tool> <debian-package> <hint>`; a target lists its checks in
# CHECKS_<target>. A new prerequisite is one more function and one more entry in the list; e.g.
# the schema registry's Java 21+: `check_registry_java() { (( $(java_major "$REGISTRY_JAVA") >= 21 ))
# || missing "java 21+ for the registry" openjdk-21-jre-headless "..."; }` in CHECKS_demo.
set -uo pipefail

here="${BASH_SOURCE[0]%/*}"
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
pyproject="$here/../pyproject.toml"
PYTHON="${PYTHON:-python3}"
JAVA_MIN=17

missing_tools=()    # human names, for the report
missing_pkgs=()     # Debian packages that provide them
missing_hints=()    # what to do where apt-get cannot be used

missing() {  # missing <tool> <debian package> <hint for other systems>
  missing_tools+=("$1")
  missing_pkgs+=("$2")
  missing_hints+=("$3")
}

have() { command -v "$1" >/dev/null 2>&1; }

# The Python range from pyproject.toml's requires-python (">=3.10,<3.13"), read with builtins.
python_range() {
  local line
  py_min="" py_max=""
  while IFS= read -r line; do
    if [[ "$line" =~ ^requires-python\ *=\ *\"\>=([0-9]+\.[0-9]+)(,\<([0-9]+\.[0-9]+))?\" ]]; then
      py_min="${BASH_REMATCH[1]}" py_max="${BASH_REMATCH[3]}"
      return
    fi
  done <"$pyproject"
}

check_python() {
  python_range
  local want=">= $py_min${py_max:+, < $py_max}"
  if ! have "$PYTHON"; then
    local pkg=""  # Debian's packages give `python3`, not another name or path
    [[ "$PYTHON" == python3 ]] && pkg="python3 python3-venv"
    missing "python ($PYTHON)" "$pkg" "install Python $want with venv, or make PYTHON=/path/to/python3.X"
    return
  fi
  # one interpreter start: "3.11 ok" (or "3.11 no-venv")
  local out v
  out="$("$PYTHON" -c 'import sys
try:
    import ensurepip, venv  # noqa: F401
    ok = "ok"
except ImportError:
    ok = "no-venv"
print("%d.%d" % sys.version_info[:2], ok)' 2>/dev/null)" || out="? ?"
  v="${out% *}"
  local major="${v%%.*}" minor="${v#*.}"
  if [[ "$v" == "?" ]] || ((major * 100 + minor < ${py_min%%.*} * 100 + ${py_min#*.})) ||
    { [[ -n "$py_max" ]] && ((major * 100 + minor >= ${py_max%%.*} * 100 + ${py_max#*.})); }; then
    missing "python $want (found $v at $(command -v "$PYTHON"))" "" \
      "install Python $want, then: make PYTHON=/path/to/python3.X ..."
    return
  fi
  if [[ "${out#* }" != ok ]]; then
    missing "python venv/ensurepip" "python3-venv" "install the venv module of $PYTHON ($v)"
  fi
}

# The major version of a Java executable (name on PATH or path): from the JDK's release file
# (no JVM start), else from `java -version`; 0 when unknown.
java_major() {
  local out="" exe home
  exe="$(readlink -f "$(command -v "$1")" 2>/dev/null)" && home="${exe%/bin/java}" &&
    [[ -r "$home/release" ]] && out="$(<"$home/release")"
  [[ "$out" == *JAVA_VERSION=* ]] || out="$("$1" -version 2>&1)"
  if [[ "$out" =~ (JAVA_VERSION=|version\ )\"(1\.)?([0-9]+) ]]; then
    echo "${BASH_REMATCH[3]}"
  else
    echo 0
  fi
}

check_java() {
  if ! have java || ! have javac; then
    missing "java $JAVA_MIN+ (JDK)" "default-jdk-headless" \
      "install a JDK $JAVA_MIN+ (https://adoptium.net) and put java, javac on PATH"
    return
  fi
  local major
  major="$(java_major java)"
  if ((major < JAVA_MIN)); then
    missing "java $JAVA_MIN+ (found $major on PATH)" "default-jdk-headless" \
      "put a JDK $JAVA_MIN+ first on PATH (https://adoptium.net)"
  fi
}

check_maven() { have mvn || missing mvn maven "install Apache Maven 3.8+ (https://maven.apache.org)"; }
check_redis() { have redis-server || missing redis-server redis-server "install Redis 7 (https://redis.io/docs/latest/get-started/)"; }
check_redis_benchmark() { have redis-benchmark || missing redis-benchmark redis-tools "install Redis 7's tools (redis-benchmark)"; }
check_openssl() { have openssl || missing openssl openssl "install openssl"; }
check_make() { have make || missing make make "install GNU make"; }
# The schema registry of the registry tests (Apicurio Registry 3) runs on Java 21+, which Debian 12
# does not package; machines of this kind carry a Temurin 25 JDK beside the default Java 17.
REGISTRY_JAVA="${USERPULSE_REGISTRY_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
check_registry_java() {
  if [[ ! -x "$REGISTRY_JAVA" ]] || (($(java_major "$REGISTRY_JAVA") < 21)); then
    missing "java 21+ for the schema registry (at $REGISTRY_JAVA)" "" \
      "install a Java 21+ (https://adoptium.net) and set USERPULSE_REGISTRY_JAVA to its bin/java"
  fi
}

CHECKS_demo=(check_python check_java check_maven check_redis)
CHECKS_test=("${CHECKS_demo[@]}" check_openssl check_redis_benchmark check_make check_registry_java)

target="${1:-demo}"
case "$target" in
  demo) checks=("${CHECKS_demo[@]}") ;;
  test) checks=("${CHECKS_test[@]}") ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
for c in "${checks[@]}"; do "$c"; done
((${#missing_tools[@]} == 0)) && exit 0

# What can be installed here: Debian packages, as root or with passwordless sudo.
sudo=()
((EUID != 0)) && sudo=(sudo)
can_install=0
if have apt-get && { ((${#sudo[@]} == 0)) || { have sudo && sudo -n true 2>/dev/null; }; }; then
  can_install=1
fi
case "${USERPULSE_PREREQS_INSTALL:-auto}" in
  0) can_install=0 ;;
  1) ;;
esac
pkgs=()
for p in "${missing_pkgs[@]}"; do [[ -n "$p" ]] && pkgs+=($p); done

if ((can_install)) && ((${#pkgs[@]})); then
  echo "prereqs: installing ${pkgs[*]} (missing: ${missing_tools[*]})"
  "${sudo[@]}" apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" ||
    { echo "prereqs: apt-get install ${pkgs[*]} failed" >&2; exit 2; }
  missing_tools=() missing_pkgs=() missing_hints=()
  for c in "${checks[@]}"; do "$c"; done  # again: e.g. a Python out of range is not a package
  ((${#missing_tools[@]} == 0)) && exit 0
fi

for i in "${!missing_tools[@]}"; do
  if have apt-get && [[ -n "${missing_pkgs[$i]}" ]]; then
    how="${sudo[*]}${sudo:+ }apt-get install -y ${missing_pkgs[$i]}"
  else
    how="${missing_hints[$i]}"
  fi
  echo "missing: ${missing_tools[$i]} -> $how" >&2
done
exit 2
