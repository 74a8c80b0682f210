//! `cargo xtask regen [--check] [--upstream PATH]`.
//!
//! Normalizes the vendor document with the corrections into `openapi/kiwify.yaml`, prints what
//! changed, and refreshes the snapshots of the generated surface. With `--check` nothing is
//! written and the command fails when `kiwify.yaml` or a snapshot is stale.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::overlay::{self, Action};
use crate::{drift, normalize, upstream, yaml};

/// The integration test that holds the snapshots of the generated surface.
const SNAPSHOT_TEST: &str = "generated_surface";

/// Runs the command with the arguments after `regen`.
pub fn run(args: &[String]) -> Result<()> {
    let mut check = false;
    let mut upstream = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--upstream" => {
                upstream = Some(PathBuf::from(
                    args.next().context("--upstream needs a PATH")?,
                ))
            }
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask regen [--check] [--upstream PATH]"
            ),
        }
    }

    let root = workspace_root();
    let vendored = root.join("openapi/kiwify-docs.yaml");
    let upstream = upstream.unwrap_or_else(|| vendored.clone());
    let normalized_path = root.join("openapi/kiwify.yaml");

    let vendor = yaml::read(&upstream)?;
    let corrections = yaml::read(&root.join("openapi/corrections.yaml"))?;
    let normalized = normalize::normalize(&vendor, &corrections)
        .with_context(|| format!("cannot normalize {}", upstream.display()))?;
    let rendered = normalize::render(&normalized)?;

    let previous_text = std::fs::read_to_string(&normalized_path).unwrap_or_default();
    let previous = yaml::parse(&previous_text).unwrap_or(serde_json::Value::Null);
    let actions = overlay::parse(&corrections)?;
    let report = drift_report(&previous, &normalized, &actions)?;

    if check {
        if previous_text != rendered {
            bail!(
                "openapi/kiwify.yaml is stale:\n{report}\nrun `cargo xtask regen` and commit the result"
            );
        }
        if upstream != vendored {
            let current = std::fs::read(&vendored).unwrap_or_default();
            if std::fs::read(&upstream)? != current {
                bail!(
                    "{} differs from the vendored openapi/kiwify-docs.yaml",
                    upstream.display()
                );
            }
        }
        run_snapshot_test(&root, "no").context(
            "the snapshots of the generated surface are stale; run `cargo xtask regen`, \
             review the diff and commit it",
        )?;
        println!("openapi/kiwify.yaml and the snapshots are up to date");
        return Ok(());
    }

    if upstream != vendored {
        std::fs::copy(&upstream, &vendored)
            .with_context(|| format!("cannot vendor {}", upstream.display()))?;
        println!(
            "vendored {} as openapi/kiwify-docs.yaml",
            upstream.display()
        );
    }
    std::fs::write(&normalized_path, &rendered)
        .with_context(|| format!("cannot write {}", normalized_path.display()))?;
    println!("{report}");
    run_snapshot_test(&root, "always")?;
    println!("wrote openapi/kiwify.yaml and refreshed the snapshots; review them with `git diff`");
    Ok(())
}

/// What changed against the previous normalized document: the operations and fields the
/// generator sees, then the vendor fields that corrections hide.
pub fn drift_report(
    previous: &serde_json::Value,
    normalized: &serde_json::Value,
    actions: &[Action],
) -> Result<String> {
    if previous.is_null() {
        return Ok("no previous openapi/kiwify.yaml: everything is new".to_owned());
    }
    let (before, after) = (upstream::detach(previous), upstream::detach(normalized));
    let mut lines = drift::operations(&before, &after);
    lines.extend(drift::diff(&before, &after).iter().map(ToString::to_string));
    lines.extend(upstream::changes(
        &upstream::Fingerprint::of(previous)?,
        &upstream::Fingerprint::of(normalized)?,
        actions,
    ));
    Ok(if lines.is_empty() {
        "no drift: the content is unchanged (a stale file differs only in layout or header)"
            .to_owned()
    } else {
        format!(
            "drift against the previous openapi/kiwify.yaml:\n  {}",
            lines.join("\n  ")
        )
    })
}

fn run_snapshot_test(root: &Path, insta_update: &str) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "test",
            "--quiet",
            "--package",
            "kiwify",
            "--test",
            SNAPSHOT_TEST,
        ])
        .env("INSTA_UPDATE", insta_update)
        .env("INSTA_FORCE_PASS", "0")
        .status()
        .context("cannot run cargo test")?;
    if !status.success() {
        bail!("`cargo test --test {SNAPSHOT_TEST}` failed (INSTA_UPDATE={insta_update})");
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
