#!/usr/bin/env bash
# Cold debug build of `kiwify` against a baseline crate holding only its HTTP stack
# (reqwest, serde, serde_json, tokio, same TLS choice), as a ratio of medians.
#
#   scripts/cold-build.sh [CRATE_DIR] [RUNS]
#
# CRATE_DIR defaults to the repository this script lives in. Point it at a clean checkout (e.g.
# `git archive HEAD | tar -x -C DIR`), not at a work tree someone is editing, or the figures
# measure whatever state it was in. RUNS (default 3) is the number of
# cold builds of each crate per TLS configuration. Prints per configuration the median seconds
# and the ratio kiwify/baseline, the ring vs aws-lc-rs comparison, and the lines of the code
# progenitor generates. The machine is shared and noisy: absolute seconds mean little, which is
# why baseline and kiwify builds alternate and only ratios are meant to be quoted.
set -euo pipefail

CRATE_DIR=$(cd "${1:-$(dirname "$0")/..}" && pwd)
RUNS=${2:-3}
JOBS=2

WORK=$(mktemp -d /tmp/cold-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM # so that an interrupted run still cleans up

# Cold means: no incremental cache, no compiler cache, a fresh target dir for every build.
export CARGO_INCREMENTAL=0
unset RUSTC_WRAPPER CARGO_BUILD_RUSTC_WRAPPER CARGO_TARGET_DIR

# --- 1. The baseline crate ----------------------------------------------------------------
# Its dependency lines are copied from kiwify's [dependencies] so versions and features cannot
# drift; its TLS features mirror kiwify's `tls-ring` / `tls-aws-lc`.
BASE="$WORK/baseline"
mkdir -p "$BASE/src"
deps=$(awk '/^\[/ { in_deps = ($0 == "[dependencies]") }
            in_deps && /^(reqwest|rustls|serde|serde_json|tokio) *=/' "$CRATE_DIR/Cargo.toml")
[[ $(wc -l <<<"$deps") -eq 5 ]] || { echo "expected 5 dependency lines, got:"; echo "$deps"; exit 1; } >&2
profile=$(awk '/^\[/ { in_p = ($0 == "[profile.dev]") } in_p' "$CRATE_DIR/Cargo.toml")

cat >"$BASE/Cargo.toml" <<EOF
[package]
name = "baseline"
version = "0.0.0"
edition = "2024"
publish = false

# Empty workspace table: never be taken for a member of some enclosing workspace.
[workspace]

[features]
default = ["ring"]
ring = ["dep:rustls", "rustls/ring", "reqwest/rustls-no-provider"]
aws-lc = ["reqwest/rustls"]

[dependencies]
$deps

${profile}
EOF

cat >"$BASE/src/lib.rs" <<'EOF'
//! Uses each dependency once so that none is compiled for nothing.
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Ping {
    pub ok: bool,
}

pub async fn ping(client: &reqwest::Client, url: &str) -> reqwest::Result<Ping> {
    let lock = tokio::sync::Mutex::new(());
    let _guard = lock.lock().await;
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    client.get(url).query(&[("q", "1")]).send().await?.json().await
}

pub fn encode(p: &Ping) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

#[cfg(feature = "ring")]
pub fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
EOF

# Same lock file, so both crates build the very same versions (cargo trims the extra entries).
cp "$CRATE_DIR/Cargo.lock" "$BASE/Cargo.lock"

# Download once; every timed build below is offline, so the network is never measured.
(cd "$CRATE_DIR" && cargo fetch --locked -q)
(cd "$BASE" && cargo fetch -q)

# --- 2. Timed cold builds -----------------------------------------------------------------
# timed_build DIR LOG ARGS... : prints the seconds of one cold `cargo build --lib`.
timed_build() {
    local dir=$1 log=$2
    shift 2
    local target start end
    target=$(mktemp -d "$WORK/target.XXXXXX")
    start=$(date +%s.%N)
    if ! (cd "$dir" && CARGO_TARGET_DIR="$target" cargo build --lib --offline -j"$JOBS" "$@") \
        >"$log" 2>&1; then
        return 1
    fi
    end=$(date +%s.%N)
    # The generated client lives in the build script's OUT_DIR; count it before cleaning up.
    local generated
    generated=$(compgen -G "$target/debug/build/kiwify-*/out/kiwify.rs" || true)
    [[ -n $generated ]] && wc -l <"$generated" >"$WORK/generated-lines"
    rm -rf "$target"
    echo "$end - $start" | bc
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A KIWIFY_MEDIAN
for config in ring aws-lc; do
    case $config in
        ring) kiwify_args=(-p kiwify --locked) base_args=() ;;
        aws-lc) kiwify_args=(-p kiwify --locked --no-default-features --features tls-aws-lc)
                base_args=(--no-default-features --features aws-lc) ;;
    esac
    : >"$WORK/$config-baseline"
    : >"$WORK/$config-kiwify"
    failed=
    for run in $(seq 1 "$RUNS"); do
        # Side by side, so both crates see the same machine load.
        for crate in baseline kiwify; do
            if [[ $crate == baseline ]]; then
                dir=$BASE
                args=("${base_args[@]}")
            else
                dir=$CRATE_DIR
                args=("${kiwify_args[@]}")
            fi
            log="$WORK/$config-$crate-$run.log"
            if ! secs=$(timed_build "$dir" "$log" "${args[@]}"); then
                echo "!! $config: $crate build failed (run $run); last lines of its log:" >&2
                tail -n 25 "$log" >&2
                failed=1
                break 2
            fi
            echo "$secs" >>"$WORK/$config-$crate"
            printf '   %-6s run %d  %-8s %6.1f s\n' "$config" "$run" "$crate" "$secs" >&2
        done
    done

    echo "== $config"
    if [[ -n $failed ]]; then
        echo "   build FAILED (see the log above)"
        continue
    fi
    b=$(median <"$WORK/$config-baseline")
    k=$(median <"$WORK/$config-kiwify")
    KIWIFY_MEDIAN[$config]=$k
    printf '   baseline median %6.1f s   (%s)\n' "$b" "$(paste -sd' ' "$WORK/$config-baseline")"
    printf '   kiwify   median %6.1f s   (%s)\n' "$k" "$(paste -sd' ' "$WORK/$config-kiwify")"
    printf '   ratio kiwify/baseline  %.2f\n' "$(echo "$k / $b" | bc -l)"
done

# --- 3. Summary ---------------------------------------------------------------------------
echo "== ring vs aws-lc-rs (kiwify cold builds)"
if [[ -n ${KIWIFY_MEDIAN[ring]:-} && -n ${KIWIFY_MEDIAN[aws-lc]:-} ]]; then
    printf '   ring %.1f s, aws-lc-rs %.1f s: aws-lc-rs/ring %.2f\n' \
        "${KIWIFY_MEDIAN[ring]}" "${KIWIFY_MEDIAN[aws-lc]}" \
        "$(echo "${KIWIFY_MEDIAN[aws-lc]} / ${KIWIFY_MEDIAN[ring]}" | bc -l)"
else
    echo "   not comparable: a configuration failed to build"
fi
echo "== generated code"
echo "   kiwify.rs: $(cat "$WORK/generated-lines" 2>/dev/null || echo '?') lines"
