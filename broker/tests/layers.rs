//! The broker's modules form one-way layers: a module may use only the layers below its own
//! (and itself). This reads every `crate::…` path in the broker's non-test source and fails on
//! any that points up or sideways, naming the file and the line.

use std::path::{Path, PathBuf};

/// Top to bottom. Modules on one line are peers that do not use each other.
const LAYERS: &[&[&str]] = &[
    &["net"],
    &["api"],
    &["state"],
    &["txn"],
    &["metrics"],
    &["group"],
    &["cluster"],
    &["log"],
    &["config"],
    &["auth"],
    &["record", "codec"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its unit tests (`#[cfg(test)]` and what follows it) and without
/// comments.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or_default();
        lines.push((i + 1, code.to_string()));
    }
    lines
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let own = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if own == "lib" || relative.components().any(|c| c.as_os_str() == "tests") {
            continue;
        }
        let Some(own_layer) = layer_of(&own) else {
            wrong.push(format!(
                "{}: module `{own}` is in no layer of this test",
                relative.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in code_lines(&text) {
            let mut rest = line.as_str();
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let used: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                checked += 1;
                if used == own {
                    continue;
                }
                match layer_of(&used) {
                    Some(layer) if layer > own_layer => {}
                    _ => wrong.push(format!(
                        "{}:{number}: `{own}` uses `crate::{used}`, which is not below it",
                        relative.display()
                    )),
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} crate paths found; is the parsing broken?"
    );
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn the_parser_sees_uses_and_skips_comments_and_tests() {
    let lines = code_lines("use crate::log::X; // crate::net\n#[cfg(test)]\nuse crate::api;\n");
    assert_eq!(lines.len(), 1);
    assert!(lines[0].1.contains("crate::log") && !lines[0].1.contains("crate::net"));
}
