//! The migration guide cannot drift from code that compiles: every ```` ```rust ```` block of
//! `docs/MIGRATING.md` is copied verbatim from a `migrate_*` example program (or the library
//! they share), which CI builds; every ```` ```rust,compile_fail ```` block from a
//! `tests/ui/fail` case, and the ```` ```text ```` block right after it from that case's
//! `.stderr`, which the UI test pins.

use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A fenced block: its info string, its text (without the fences) and its first line number.
struct Block {
    info: String,
    text: String,
    line: usize,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some(Block { info: info.trim().to_owned(), text: String::new(), line: i + 1 }),
            (Some(_), Some("")) => out.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "docs/MIGRATING.md: a code block is not closed");
    out
}

/// `(path, contents)` of the files in `dir` whose name ends in `suffix`.
fn files(dir: &Path, suffix: &str) -> Vec<(PathBuf, String)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(suffix)))
        .map(|p| {
            let text = read(&p);
            (p, text)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn migration_guide_code_is_copied_from_programs_that_compile() {
    let root = root();
    let guide = read(&root.join("docs/MIGRATING.md"));
    let programs = ["migrate_metrics", "migrate_prometheus", "migrate_prometheus_client", "migrate_ours"];
    let mut sources: Vec<(PathBuf, String)> = programs
        .iter()
        .map(|name| {
            let path = root.join(format!("examples/src/bin/{name}.rs"));
            let text = read(&path);
            (path, text)
        })
        .collect();
    let shared = root.join("examples/src/lib.rs");
    sources.push((shared.clone(), read(&shared)));
    let ui_fail = files(&root.join("tests/ui/fail"), ".rs");

    let blocks = blocks(&guide);
    let mut shown = vec![false; sources.len()];
    let mut failures = 0;
    for (i, block) in blocks.iter().enumerate() {
        match block.info.as_str() {
            "rust" => {
                let found = sources.iter().position(|(_, text)| text.contains(&block.text));
                match found {
                    Some(k) => shown[k] = true,
                    None => panic!(
                        "docs/MIGRATING.md:{}: this `rust` block is not in any of {:?}; copy it from the program verbatim",
                        block.line,
                        sources.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>()
                    ),
                }
            }
            "rust,compile_fail" => {
                let Some((path, _)) = ui_fail.iter().find(|(_, text)| text.contains(&block.text)) else {
                    panic!(
                        "docs/MIGRATING.md:{}: this `rust,compile_fail` block is not in any tests/ui/fail/*.rs; copy it from one verbatim",
                        block.line
                    )
                };
                let stderr = read(&path.with_extension("stderr"));
                let error = blocks.get(i + 1).filter(|b| b.info == "text").unwrap_or_else(|| {
                    panic!(
                        "docs/MIGRATING.md:{}: a `rust,compile_fail` block is followed by a `text` block with its error",
                        block.line
                    )
                });
                assert!(
                    stderr.contains(&error.text),
                    "docs/MIGRATING.md:{}: this error is not in {}",
                    error.line,
                    path.with_extension("stderr").display()
                );
                failures += 1;
            }
            info if info.starts_with("rust") => panic!(
                "docs/MIGRATING.md:{}: `{info}` blocks are not checked; use `rust` (from an example program) or `rust,compile_fail` (from tests/ui/fail)",
                block.line
            ),
            _ => {}
        }
    }
    for ((path, _), shown) in sources.iter().zip(shown) {
        assert!(shown, "docs/MIGRATING.md shows nothing of {}", path.display());
    }
    assert!(failures > 0, "docs/MIGRATING.md shows no compile error");
}

#[test]
fn block_parser() {
    let md = "a\n```rust\nfn x() {}\n```\n\n```text\nout\n```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 2);
    assert_eq!((b[0].info.as_str(), b[0].text.as_str(), b[0].line), ("rust", "fn x() {}\n", 2));
    assert_eq!((b[1].info.as_str(), b[1].text.as_str()), ("text", "out\n"));
}
