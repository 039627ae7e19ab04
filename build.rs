//! Build script: record the git commit a binary was built from, so that
//! `reluverify --version` and the `--json` objects can say exactly which
//! code gave an answer. Outside a checkout (a crate tarball, no `git`) the
//! version is the package version alone.

use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    match commit {
        Some(c) => println!("cargo:rustc-env=RELUVERIFY_VERSION={version} (commit {c})"),
        None => println!("cargo:rustc-env=RELUVERIFY_VERSION={version}"),
    }
    // A new commit changes HEAD (detached) or the branch ref HEAD points to.
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        println!("cargo:rerun-if-changed=.git/HEAD");
        let branch = head.strip_prefix("ref: ").map(|r| format!(".git/{}", r.trim()));
        // A packed ref has no file of its own; naming a missing file would
        // rerun this script on every build.
        if let Some(r) = branch.filter(|r| std::path::Path::new(r).exists()) {
            println!("cargo:rerun-if-changed={r}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
