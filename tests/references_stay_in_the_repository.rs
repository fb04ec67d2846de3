//! The repository explains itself: no comment or document sends the reader to notes that live
//! outside it, and every reference to a Markdown section (a `.md` path followed by `#` and an
//! anchor, or an in-page `(#anchor)` link) names a file of the repository and a heading in it.
//! The protocol doc's table of API versions also has to agree with what the broker advertises.
//!
//! Files are the ones git lists (tracked, plus new files that are not ignored, so `target/` and
//! other build output never count); without git, a walk of the tree that skips `target/` and
//! `.git/`. Anchors follow GitHub's rules: the heading's text, lower-cased, with spaces turned
//! into hyphens and punctuation other than `-` and `_` dropped, and `-1`, `-2`, … appended to
//! repeated headings.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

/// Notes kept beside the repository, not in it. Spelt in pieces so that this file does not
/// match itself.
const OUTSIDE_NOTES: [&str; 3] = [
    concat!("KAFKA", "-NOTES"),
    concat!("DESIGN", ".md"),
    concat!("STYLE", ".md"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every text file of the repository, as (path relative to the root, contents).
fn text_files() -> Vec<(PathBuf, String)> {
    let root = root();
    let paths = git_files(&root).unwrap_or_else(|| walk(&root));
    let mut files: Vec<_> = paths
        .into_iter()
        .filter_map(|rel| {
            // A file deleted in the work tree but still in the index is simply gone.
            let bytes = std::fs::read(root.join(&rel)).ok()?;
            if bytes.contains(&0) {
                return None;
            }
            String::from_utf8(bytes).ok().map(|text| (rel, text))
        })
        .collect();
    files.sort();
    assert!(
        files.iter().any(|(p, _)| p == Path::new("README.md")),
        "found no README.md among {} files under {}",
        files.len(),
        root.display()
    );
    files
}

fn git_files(root: &Path) -> Option<Vec<PathBuf>> {
    let out = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let list = String::from_utf8(out.stdout).ok()?;
    let paths: HashSet<PathBuf> = list.split('\0').filter(|p| !p.is_empty()).map(PathBuf::from).collect();
    Some(paths.into_iter().collect())
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let rel = dir.join(entry.file_name());
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if !(rel == Path::new("target") || rel == Path::new(".git")) {
                    dirs.push(rel);
                }
            } else if kind.is_file() {
                found.push(rel);
            }
        }
    }
    found
}

fn is_markdown(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "md")
}

/// GitHub's anchor for a heading's text.
fn slug(heading: &str) -> String {
    let link = Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap();
    let tag = Regex::new(r"<[^>]*>").unwrap();
    let text = link.replace_all(heading, "$1");
    let text = tag.replace_all(&text, "");
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors a Markdown text defines: one per heading outside code fences, plus explicit
/// `<a id="…">` / `<a name="…">` targets.
fn anchors(markdown: &str) -> HashSet<String> {
    let heading = Regex::new(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$").unwrap();
    let explicit = Regex::new(r#"<a\s+(?:id|name)\s*=\s*"([^"]+)""#).unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut found = HashSet::new();
    let mut fence: Option<String> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let marker: String = trimmed.chars().take_while(|&c| c == '`' || c == '~').collect();
        if marker.len() >= 3 && marker.chars().all(|c| c == marker.chars().next().unwrap()) {
            match &fence {
                None => fence = Some(marker),
                Some(open) if marker.starts_with(open.as_str()) && trimmed.trim() == marker => fence = None,
                Some(_) => {}
            }
            continue;
        }
        if fence.is_some() {
            continue;
        }
        for c in explicit.captures_iter(line) {
            found.insert(c[1].to_string());
        }
        if let Some(c) = heading.captures(line) {
            let base = slug(&c[1]);
            let n = seen.entry(base.clone()).or_insert(0);
            found.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
            *n += 1;
        }
    }
    found
}

#[test]
fn no_file_sends_the_reader_to_notes_outside_the_repository() {
    let mut offences = Vec::new();
    for (path, text) in text_files() {
        for (i, line) in text.lines().enumerate() {
            for name in OUTSIDE_NOTES {
                if line.contains(name) {
                    offences.push(format!(
                        "{}:{}: mentions {name}: {}",
                        path.display(),
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "these lines point at notes that are not in the repository; point at docs/kafka-protocol.md \
         or the README instead:\n{}",
        offences.join("\n")
    );
}

#[test]
fn every_markdown_section_reference_names_an_existing_file_and_heading() {
    let files = text_files();
    let markdown: BTreeMap<&Path, HashSet<String>> = files
        .iter()
        .filter(|(p, _)| is_markdown(p))
        .map(|(p, text)| (p.as_path(), anchors(text)))
        .collect();
    // A path ending in .md, optionally followed by an anchor. The path may be relative to the
    // referring file (Markdown links) or to the repository root (comments in code).
    let reference = Regex::new(r"((?:\.\.?/)*[A-Za-z0-9_][A-Za-z0-9_./-]*\.md)(?:#([A-Za-z0-9_-]*))?").unwrap();
    let in_page = Regex::new(r"\]\(#([^)\s]*)\)").unwrap();
    let mut broken = Vec::new();
    for (path, text) in &files {
        let dir = path.parent().unwrap_or(Path::new(""));
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            for c in reference.captures_iter(line) {
                let whole = c.get(0).unwrap();
                let before = &line[..whole.start()];
                // Part of a URL (`https://…/README.md#x`) or of a longer name: not ours to check.
                if before.ends_with(':') || before.ends_with('/') || before.ends_with(|ch: char| ch.is_alphanumeric()) {
                    continue;
                }
                let target = &c[1];
                let anchor = c.get(2).map(|a| a.as_str());
                // Only section references, and any path into docs/, are checked.
                if anchor.is_none() && !target.starts_with("docs/") {
                    continue;
                }
                let candidates = [normalize(&dir.join(target)), normalize(Path::new(target))];
                let Some(file) = candidates.iter().find(|p| markdown.contains_key(p.as_path())) else {
                    broken.push(format!("{at}: {target} is not a Markdown file of the repository"));
                    continue;
                };
                if let Some(anchor) = anchor {
                    if !markdown[file.as_path()].contains(anchor) {
                        broken.push(format!(
                            "{at}: {} has no heading with the anchor #{anchor}",
                            file.display()
                        ));
                    }
                }
            }
            if is_markdown(path) {
                for c in in_page.captures_iter(line) {
                    if !markdown[path.as_path()].contains(&c[1]) {
                        broken.push(format!("{at}: no heading in this file has the anchor #{}", &c[1]));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "references that lead nowhere:\n{}",
        broken.join("\n")
    );
}

/// `a/b/../c` → `a/c`, `./a` → `a`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[test]
fn anchors_follow_githubs_rules() {
    let text = "# The Kafka protocol\n\
                ## Framing, headers and flexible versions\n\
                ```text\n# not a heading\n```\n\
                ### `__consumer_offsets` records\n\
                ## See [the guide](https://example.com) ##\n\
                ## Produce\n## Produce\n";
    let found = anchors(text);
    for expected in [
        "the-kafka-protocol",
        "framing-headers-and-flexible-versions",
        "__consumer_offsets-records",
        "see-the-guide",
        "produce",
        "produce-1",
    ] {
        assert!(found.contains(expected), "{expected} missing from {found:?}");
    }
    assert!(
        !found.contains("not-a-heading"),
        "a line in a code fence is no heading: {found:?}"
    );
}

/// The doc's "Versions per API" table is what a reader checks the code against, so it must say
/// what the broker's table of APIs (`broker::codec::APIS`) says: one row per API, "served" equal
/// to the decoded range, "listed" equal to what ApiVersions lists.
#[test]
fn the_protocol_doc_lists_every_advertised_api_with_its_range() {
    let doc = std::fs::read_to_string(root().join("docs/kafka-protocol.md")).unwrap();
    let row = Regex::new(r"^\| ([A-Za-z]+) \((\d+)\) \| ([0-9–]+) \| ([0-9–]+) \|").unwrap();
    let range = |text: &str| -> (i16, i16) {
        let mut ends = text.split('–').map(|n| n.parse::<i16>().unwrap());
        let min = ends.next().unwrap();
        (min, ends.next().unwrap_or(min))
    };
    let mut rows = BTreeMap::new();
    for line in doc.lines() {
        if let Some(c) = row.captures(line) {
            let key: i16 = c[2].parse().unwrap();
            rows.insert(key, (c[1].to_string(), range(&c[3]), range(&c[4])));
        }
    }
    let mut wrong = Vec::new();
    for api in broker::codec::APIS {
        let (key, min, max) = (api.key as i16, api.min, api.max);
        let name = format!("{:?}", api.key);
        let listed = (api.listed_from, max);
        match rows.remove(&key) {
            None => wrong.push(format!("{name} ({key}) has no row")),
            Some((doc_name, doc_listed, doc_served)) => {
                if doc_name != name || doc_served != (min, max) || doc_listed != listed {
                    wrong.push(format!(
                        "{name} ({key}): the code lists {listed:?} and serves {:?}; the row says {doc_name} \
                         lists {doc_listed:?} and serves {doc_served:?}",
                        (min, max)
                    ));
                }
            }
        }
    }
    for (key, (name, _, _)) in rows {
        wrong.push(format!("{name} ({key}) has a row but is not in the table of APIs"));
    }
    assert!(
        wrong.is_empty(),
        "docs/kafka-protocol.md#versions-per-api disagrees with broker::codec::APIS:\n{}",
        wrong.join("\n")
    );
}

/// The broker's settings table (docs/broker.md) is generated by no one, so it is checked against
/// the one table of settings (`broker::config::SETTINGS`): every setting and every other name
/// Kafka reads for it has a row, and every name accepted only to be ignored is listed.
#[test]
fn the_broker_doc_lists_every_broker_setting() {
    let readme = std::fs::read_to_string(root().join("docs/broker.md")).unwrap();
    // The broker's table is the one whose first row is `listeners`.
    let first_row = readme
        .find("| `listeners` |")
        .expect("docs/broker.md has the broker settings table");
    let start = readme[..first_row]
        .rfind("| key | default | meaning |")
        .expect("the broker settings table has a header");
    let table: Vec<&str> = readme[start..].lines().take_while(|l| l.starts_with('|')).collect();
    let first_columns: Vec<&str> = table.iter().filter_map(|row| row.split('|').nth(1)).collect();
    let after = &readme[start..];
    let ignored_at = after
        .find("Accepted with a one-line warning")
        .expect("docs/broker.md lists the ignored settings after the table");
    let ignored_text: String = after[ignored_at..].split("\n\n").next().unwrap().to_string();
    let mut missing = Vec::new();
    for setting in broker::config::SETTINGS {
        for name in std::iter::once(&setting.name).chain(setting.synonyms) {
            let quoted = format!("`{name}`");
            if !first_columns.iter().any(|c| c.contains(&quoted)) {
                missing.push(format!("{name} has no row in the settings table"));
            }
        }
    }
    for (name, _) in broker::config::IGNORED {
        if !ignored_text.contains(&format!("`{name}`")) {
            missing.push(format!("{name} is ignored but not listed as ignored"));
        }
    }
    assert!(missing.is_empty(), "docs/broker.md:\n{}", missing.join("\n"));
}

#[test]
fn the_broker_doc_lists_every_topic_config() {
    let doc = std::fs::read_to_string(root().join("docs/broker.md")).unwrap();
    let start = doc
        .find("| topic config | here |")
        .expect("docs/broker.md has the topic config table");
    let rows: Vec<(String, String)> = doc[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            Some((cells.get(1)?.trim_matches('`').to_string(), cells.get(2)?.to_string()))
        })
        .collect();
    let mut wrong = Vec::new();
    let names: Vec<&str> = broker::cluster::topic_config::TOPIC_KEYS
        .iter()
        .map(|k| k.name)
        .collect();
    for key in broker::cluster::topic_config::TOPIC_KEYS {
        match rows.iter().find(|(name, _)| name == key.name) {
            None => wrong.push(format!("{} has no row", key.name)),
            Some((_, here)) if here.starts_with("no effect") != key.inert_because().is_some() => wrong.push(format!(
                "{}: the row says {here:?}, but the key {} effect",
                key.name,
                if key.inert_because().is_some() {
                    "has no"
                } else {
                    "takes"
                }
            )),
            Some(_) => {}
        }
    }
    for (name, _) in &rows {
        if !names.contains(&name.as_str()) {
            wrong.push(format!("{name} is not a topic config the broker knows"));
        }
    }
    assert!(wrong.is_empty(), "docs/broker.md topic configs:\n{}", wrong.join("\n"));
}
