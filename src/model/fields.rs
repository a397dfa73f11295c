//! [`Fields`]: a contact's field values, name → value, as a sorted vector of inline strings.
//! It replaces a `BTreeMap<String, Option<String>>`, whose every node takes ~550 bytes and whose
//! every name and value is an allocation: a config, its live contacts and a plan of 100,000
//! contacts hold millions of them. Names and values up to 24 bytes are stored inline
//! ([`CompactString`]), and a contact's handful of fields sit in one small allocation.
//!
//! The API is the part of `BTreeMap`'s the code uses, with the same meaning (sorted by name,
//! one value per name, a later insert replaces).

use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// Field name → value (`None`: an explicit `null`, or "clear"), sorted by name.
#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct Fields(Vec<(CompactString, Option<CompactString>)>);

impl Fields {
    /// No fields.
    pub const fn new() -> Self {
        Fields(Vec::new())
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    /// The value of `name`, if the field is present.
    pub fn get(&self, name: &str) -> Option<&Option<CompactString>> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Whether `name` is present (with a value or `null`).
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`; returns the value it replaced.
    pub fn insert(
        &mut self,
        name: impl Into<CompactString>,
        value: Option<CompactString>,
    ) -> Option<Option<CompactString>> {
        let name = name.into();
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    /// Removes `name`; returns its value if it was present.
    pub fn remove(&mut self, name: &str) -> Option<Option<CompactString>> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    /// Keeps only the fields `keep` accepts, and gives back the room of those it dropped (a live
    /// contact trimmed to its managed part is kept for the whole run, 100,000 of them at scale).
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &Option<CompactString>) -> bool) {
        self.0.retain(|(k, v)| keep(k, v));
        self.0.shrink_to_fit();
    }

    /// Gives back the room the fields do not use (a contact's fields are built once and kept for
    /// the whole run).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in name order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&CompactString, &Option<CompactString>)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The names in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &CompactString> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Fields {
    type Output = Option<CompactString>;

    /// The value of `name`. Panics when the field is absent, like `BTreeMap`'s index (tests).
    fn index(&self, name: &str) -> &Self::Output {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no field {name:?}"),
        }
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>> FromIterator<(K, Option<V>)> for Fields {
    /// Collects pairs in any order; a later pair with the same name wins, as in a map.
    fn from_iter<I: IntoIterator<Item = (K, Option<V>)>>(iter: I) -> Self {
        let mut pairs: Vec<(CompactString, Option<CompactString>)> = iter
            .into_iter()
            .map(|(k, v)| (k.into(), v.map(Into::into)))
            .collect();
        // stable: among equal names the last stays last, and is the one kept
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(CompactString, Option<CompactString>)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        Fields(out)
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>, const N: usize> From<[(K, Option<V>); N]>
    for Fields
{
    fn from(pairs: [(K, Option<V>); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl IntoIterator for Fields {
    type Item = (CompactString, Option<CompactString>);
    type IntoIter = std::vec::IntoIter<Self::Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a CompactString, &'a Option<CompactString>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (CompactString, Option<CompactString>)>,
        fn(&'a (CompactString, Option<CompactString>)) -> Self::Item,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fields, A::Error> {
                let mut pairs: Vec<(CompactString, Option<CompactString>)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(pairs.into_iter().collect())
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_stay_sorted_by_name_with_one_value_each() {
        let mut f: Fields = [("b", Some("1")), ("a", None), ("b", Some("2"))].into();
        assert_eq!(f.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(f["b"].as_deref(), Some("2"), "the later pair wins");
        assert_eq!(f.insert("c", Some("3".into())), None);
        assert_eq!(f.insert("a", Some("x".into())), Some(None));
        assert_eq!(
            f.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(f.remove("b"), Some(Some("2".into())));
        assert_eq!(f.remove("b"), None);
        assert!(f.contains_key("a") && !f.contains_key("b"));
        f.retain(|k, _| k != "a");
        assert_eq!(f.len(), 1);
        assert_eq!(f.get("c"), Some(&Some("3".into())));
    }

    #[test]
    fn fields_serialise_as_a_json_object_and_back() {
        let f: Fields = [("n", Some("7")), ("x", None)].into();
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"n":"7","x":null}"#);
        let back: Fields = serde_json::from_str(r#"{"x":null,"n":"7"}"#).unwrap();
        assert_eq!(back, f);
        assert_eq!(format!("{f:?}"), r#"{"n": Some("7"), "x": None}"#);
    }
}
