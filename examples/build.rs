//! Records the commit the demo was built from (`git rev-parse --short HEAD`), when the sources
//! are a git checkout, for its `demo_build_info{revision}` (`build_info!` reads `GIT_COMMIT`).

fn main() {
    let sha = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if let Some(sha) = sha {
        println!("cargo:rustc-env=GIT_COMMIT={sha}");
    }
    // A new commit changes HEAD (or the branch it points to).
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
