//! Merge the files of a config directory into one tree, as SPEC.md says: the mappings
//! `channels`, `fields`, `defaults` and `safety` merge by key, the `contacts`, `sources` and `tags`
//! lists are concatenated, `version` may repeat but must agree, and any other key written in two files (or
//! one mapping key written in two files) is an error naming both places.
//!
//! Works on the positioned tree, so every merged value still points at its own file. Knows the
//! section names, nothing of their contents.

use compact_str::CompactString;
use std::collections::HashMap;

use super::diag::{Diags, Pos};
use super::problem::YamlProblem;
use super::yaml::{Entry, Node, NodeKind};

/// Sections whose keys are merged across files.
const MERGED_MAPS: [&str; 4] = ["channels", "fields", "defaults", "safety"];
/// Sections whose items are concatenated across files.
const CONCATENATED_LISTS: [&str; 3] = ["contacts", "sources", "tags"];

/// Merge the documents (one per file, in load order; all mappings) into one.
pub(crate) fn merge(docs: Vec<Node>, diags: &mut Diags) -> Option<Node> {
    let mut docs = docs.into_iter();
    let mut root = docs.next()?;
    let NodeKind::Map(root_entries) = &mut root.kind else {
        return Some(root);
    };
    // Keys seen so far in each merged mapping, to name the first place of a duplicate.
    let mut seen: HashMap<CompactString, HashMap<CompactString, Pos>> = HashMap::new();
    for e in root_entries.iter() {
        if let NodeKind::Map(sub) = &e.value.kind {
            seen.insert(
                e.key.clone(),
                sub.iter().map(|s| (s.key.clone(), s.key_pos)).collect(),
            );
        }
    }
    for doc in docs {
        let NodeKind::Map(entries) = doc.kind else {
            continue;
        };
        for entry in entries {
            let Some(existing) = root_entries.iter_mut().find(|e| e.key == entry.key) else {
                if let NodeKind::Map(sub) = &entry.value.kind {
                    seen.insert(
                        entry.key.clone(),
                        sub.iter().map(|s| (s.key.clone(), s.key_pos)).collect(),
                    );
                }
                root_entries.push(entry);
                continue;
            };
            merge_entry(existing, entry, &mut seen, diags);
        }
    }
    Some(root)
}

fn merge_entry(
    existing: &mut Entry,
    entry: Entry,
    seen: &mut HashMap<CompactString, HashMap<CompactString, Pos>>,
    diags: &mut Diags,
) {
    let section = entry.key.as_str();
    match (&mut existing.value.kind, entry.value.kind) {
        (NodeKind::Map(into), NodeKind::Map(from)) if MERGED_MAPS.contains(&section) => {
            let keys = seen.entry(entry.key.clone()).or_default();
            for sub in from {
                if let Some(first) = keys.get(&sub.key) {
                    let first = diags.loc(*first);
                    diags.push(
                        sub.key_pos,
                        YamlProblem::DuplicateSectionKey {
                            section: entry.key.clone(),
                            key: sub.key,
                            first,
                        },
                    );
                    continue;
                }
                keys.insert(sub.key.clone(), sub.key_pos);
                into.push(sub);
            }
        }
        (NodeKind::Seq(into), NodeKind::Seq(from)) if CONCATENATED_LISTS.contains(&section) => {
            into.extend(from);
        }
        (existing_kind, kind) if section == "version" => {
            let first = Node {
                pos: existing.value.pos,
                kind: existing_kind.clone(),
                at: existing.value.at,
            };
            let again = Node {
                pos: entry.value.pos,
                kind,
                at: entry.value.at,
            };
            if first.to_json() != again.to_json() {
                let at = diags.loc(first.pos);
                diags.push(
                    again.pos,
                    YamlProblem::VersionDisagrees {
                        again: again.to_json(),
                        first: first.to_json(),
                        at,
                    },
                );
            }
        }
        _ => {
            let first = diags.loc(existing.key_pos);
            diags.push(
                entry.key_pos,
                YamlProblem::DuplicateSection {
                    section: entry.key.clone(),
                    first,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml::parse;

    fn merged(files: &[&str]) -> (Option<serde_json::Value>, Vec<String>) {
        let names = (0..files.len()).map(|i| format!("{i}.yaml")).collect();
        let mut diags = Diags::new(names);
        let docs = files
            .iter()
            .enumerate()
            .map(|(i, t)| parse(i as u32, t, &mut diags).unwrap())
            .collect();
        let root = merge(docs, &mut diags).map(|n| n.to_json());
        let messages = diags
            .into_diagnostics()
            .iter()
            .map(|d| d.to_string())
            .collect();
        (root, messages)
    }

    #[test]
    fn mappings_merge_by_key_and_lists_concatenate() {
        let (root, problems) = merged(&[
            "version: 1\nfields: {a: {type: text}}\ntags: [x]\ncontacts: [{id: '1'}]\nsources: [{csv: a.csv}]\n",
            "version: 1\nfields: {b: {type: text}}\ntags: [y]\ncontacts: [{id: '2'}]\nsources: [{csv: b.csv}]\n",
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            root.unwrap(),
            serde_json::json!({
                "version": 1,
                "fields": {"a": {"type": "text"}, "b": {"type": "text"}},
                "tags": ["x", "y"],
                "contacts": [{"id": "1"}, {"id": "2"}],
                "sources": [{"csv": "a.csv"}, {"csv": "b.csv"}],
            })
        );
    }

    #[test]
    fn the_same_mapping_key_in_two_files_names_both() {
        let (_, problems) = merged(&[
            "fields:\n  a: {type: text}\n",
            "fields:\n  a: {type: email}\n",
        ]);
        assert_eq!(
            problems,
            ["1.yaml:2:3: duplicate key \"fields.a\" (also defined at 0.yaml:2:3)"]
        );
    }

    #[test]
    fn an_unmerged_key_in_two_files_is_an_error() {
        let (_, problems) = merged(&["contacts: []\n", "contacts: {}\n"]);
        assert_eq!(
            problems,
            ["1.yaml:1:1: duplicate key \"contacts\" (also defined at 0.yaml:1:1)"]
        );
    }

    #[test]
    fn version_may_repeat_only_if_it_agrees() {
        let (_, problems) = merged(&["version: 1\n", "version: 1\n", "version: 2\n"]);
        assert_eq!(
            problems,
            ["2.yaml:1:10: version 2 disagrees with version 1 at 0.yaml:1:10"]
        );
    }
}
