//! One channel's contacts in memory, with an index from (field, folded value) to contacts so a
//! look-up costs O(matches), not O(contacts). Owns the platform's data rules (values folded like
//! a case-insensitive MySQL collation for look-ups, an empty value clears a field, tags are a
//! set that keeps its order); knows nothing of HTTP, tokens or limits.

use std::collections::HashMap;

use crate::api::wire::WireContact;
use crate::model::FieldWrite;

/// A channel's contacts. Creation order is insertion order (a state file's order first).
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Contacts by creation sequence; `None` where a contact was replaced by a newer one.
    slots: Vec<Option<WireContact>>,
    /// id → creation sequence.
    ids: HashMap<String, usize>,
    /// field → folded value → creation sequences, sorted. A sorted `Vec` rather than a set so a
    /// page is a slice: skipping to page P of a look-up matching 100,000 contacts must not walk
    /// every contact before it (that made paging through a big channel quadratic).
    ///
    /// A field is indexed on its first look-up, not before: contacts carry many fields nobody
    /// looks up, and indexing every one of them tripled the memory a 100,000-contact sandbox
    /// takes.
    index: HashMap<String, HashMap<String, Vec<usize>>>,
}

/// How look-ups compare values: trimmed and case-folded, like MySQL's `_ci` collations.
pub(crate) fn fold(value: &str) -> String {
    value.trim().to_lowercase()
}

/// The index key of a stored value: folded; none for an empty value (it matches nothing).
fn index_key(value: Option<&str>) -> Option<String> {
    value.map(fold).filter(|v| !v.is_empty())
}

impl Store {
    /// A store holding `contacts` in this order. IDs must be unique (the state is checked first).
    pub(crate) fn new(contacts: Vec<WireContact>) -> Store {
        let mut s = Store {
            slots: Vec::with_capacity(contacts.len()),
            ids: HashMap::with_capacity(contacts.len()),
            index: HashMap::new(),
        };
        for c in contacts {
            s.insert(c);
        }
        s
    }

    /// Number of contacts.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether a contact with this ID exists.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// The contact with this ID.
    pub(crate) fn get(&self, id: &str) -> Option<&WireContact> {
        self.ids.get(id).and_then(|&seq| self.slot(seq))
    }

    fn slot(&self, seq: usize) -> Option<&WireContact> {
        self.slots.get(seq).and_then(Option::as_ref)
    }

    /// Adds a contact as the newest one, replacing (and unindexing) any with the same ID.
    pub(crate) fn insert(&mut self, contact: WireContact) {
        if let Some(seq) = self.ids.remove(&contact.id)
            && let Some(old) = self.slots.get_mut(seq).and_then(Option::take)
        {
            for (field, value) in &old.custom_fields {
                self.unindex(field, value.as_deref(), seq);
            }
        }
        let seq = self.slots.len();
        for (field, value) in &contact.custom_fields {
            self.index_value(field, value.as_deref(), seq);
        }
        self.ids.insert(contact.id.clone(), seq);
        self.slots.push(Some(contact));
    }

    /// Writes fields in order (a later write of the same field wins); `""` removes the field.
    /// Returns `false` when there is no such contact.
    pub(crate) fn write_fields(&mut self, id: &str, writes: &[FieldWrite]) -> bool {
        let Some((seq, contact)) = self.contact_mut(id) else {
            return false;
        };
        let mut changes = Vec::with_capacity(writes.len());
        for w in writes {
            let old = if w.value.is_empty() {
                contact.custom_fields.remove(&w.name)
            } else {
                contact
                    .custom_fields
                    .insert(w.name.as_str(), Some(w.value.as_str().into()))
            };
            changes.push((w.name.as_str(), old.flatten(), w.value.as_str()));
        }
        for (field, old, new) in changes {
            self.unindex(field, old.as_deref(), seq);
            self.index_value(field, Some(new), seq);
        }
        true
    }

    /// The contact with this ID, and its creation sequence.
    fn contact_mut(&mut self, id: &str) -> Option<(usize, &mut WireContact)> {
        let seq = *self.ids.get(id)?;
        let contact = self.slots.get_mut(seq).and_then(Option::as_mut)?;
        Some((seq, contact))
    }

    /// Adds tags the contact lacks, at the end, in the order given. `false` if no such contact.
    pub(crate) fn add_tags(&mut self, id: &str, tags: &[String]) -> bool {
        let Some((_, c)) = self.contact_mut(id) else {
            return false;
        };
        for t in tags {
            if !c.tags.contains(t) {
                c.tags.push(t.clone());
            }
        }
        true
    }

    /// Removes these tags (absent ones are ignored). `false` if no such contact.
    pub(crate) fn remove_tags(&mut self, id: &str, tags: &[String]) -> bool {
        let Some((_, c)) = self.contact_mut(id) else {
            return false;
        };
        c.tags.retain(|t| !tags.contains(t));
        true
    }

    /// The contacts whose `field` folds to the same as `value`, in creation order: how many in
    /// all, and up to `limit` of them after skipping `offset`. The first look-up of a field
    /// indexes it (one pass over the contacts).
    pub(crate) fn lookup(
        &mut self,
        field: &str,
        value: &str,
        offset: u64,
        limit: u64,
    ) -> (u64, Vec<&WireContact>) {
        if !self.index.contains_key(field) {
            let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
            for (seq, c) in self.slots.iter().enumerate() {
                let value = c.as_ref().and_then(|c| c.custom_fields.get(field));
                if let Some(v) = index_key(value.and_then(Option::as_deref)) {
                    // sequences ascend as the slots are walked: each list comes out sorted
                    by_value.entry(v).or_default().push(seq);
                }
            }
            self.index.insert(field.to_string(), by_value);
        }
        let Some(seqs) = self.index.get(field).and_then(|m| m.get(&fold(value))) else {
            return (0, Vec::new());
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(seqs.len());
        let end = start
            .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
            .min(seqs.len());
        let page = seqs[start..end]
            .iter()
            .filter_map(|&seq| self.slot(seq))
            .collect();
        (seqs.len() as u64, page)
    }

    /// Every contact, in creation order.
    pub(crate) fn all(&self) -> Vec<WireContact> {
        self.slots.iter().flatten().cloned().collect()
    }

    /// Adds `seq` under `value` in the index of `field`, when that field is indexed.
    fn index_value(&mut self, field: &str, value: Option<&str>, seq: usize) {
        let Some(by_value) = self.index.get_mut(field) else {
            return;
        };
        let Some(v) = index_key(value) else {
            return;
        };
        let seqs = by_value.entry(v).or_default();
        // new contacts have the highest sequence: nearly every insert is a push
        match seqs.last() {
            Some(&last) if last >= seq => {
                if let Err(at) = seqs.binary_search(&seq) {
                    seqs.insert(at, seq);
                }
            }
            _ => seqs.push(seq),
        }
    }

    /// Removes `seq` from under `value` in the index of `field`, when that field is indexed.
    fn unindex(&mut self, field: &str, value: Option<&str>, seq: usize) {
        let Some(by_value) = self.index.get_mut(field) else {
            return;
        };
        let Some(v) = index_key(value) else {
            return;
        };
        if let Some(seqs) = by_value.get_mut(&v) {
            if let Ok(at) = seqs.binary_search(&seq) {
                seqs.remove(at);
            }
            if seqs.is_empty() {
                by_value.remove(&v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: &str, fields: &[(&str, &str)]) -> WireContact {
        WireContact {
            id: id.into(),
            custom_fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            tags: vec![],
            created_at: None,
        }
    }

    fn write(name: &str, value: &str) -> FieldWrite {
        FieldWrite {
            name: name.into(),
            value: value.into(),
        }
    }

    fn ids(found: &[&WireContact]) -> Vec<String> {
        found.iter().map(|c| c.id.clone()).collect()
    }

    #[test]
    fn lookup_folds_case_and_surrounding_spaces_and_keeps_creation_order() {
        let mut s = Store::new(vec![
            contact("b", &[("email", "Ana@Example.com")]),
            contact("a", &[("email", "ana@example.com ")]),
            contact("c", &[("email", "other@example.com")]),
        ]);
        let (total, found) = s.lookup("email", "  ANA@example.COM", 0, 10);
        assert_eq!(total, 2);
        assert_eq!(ids(&found), ["b", "a"]);
        assert_eq!(
            s.lookup("Email", "ana@example.com", 0, 10).0,
            0,
            "names are exact"
        );
    }

    #[test]
    fn lookup_pages_with_offset_and_limit() {
        let mut s = Store::new(
            (0..25)
                .map(|i| contact(&format!("{i:02}"), &[("m", "x")]))
                .collect(),
        );
        let (total, found) = s.lookup("m", "x", 20, 10);
        assert_eq!(total, 25);
        assert_eq!(ids(&found), ["20", "21", "22", "23", "24"]);
        assert!(s.lookup("m", "x", 30, 10).1.is_empty());
    }

    #[test]
    fn a_value_written_back_keeps_its_contact_s_place_in_creation_order() {
        let mut s = Store::new(
            (0..5)
                .map(|i| contact(&format!("{i}"), &[("m", "x")]))
                .collect(),
        );
        assert!(s.write_fields("1", &[write("m", "y")]));
        assert!(s.write_fields("3", &[write("m", "")]));
        assert_eq!(ids(&s.lookup("m", "x", 0, 10).1), ["0", "2", "4"]);
        assert!(s.write_fields("3", &[write("m", "x")]));
        assert!(s.write_fields("1", &[write("m", "X")]));
        assert_eq!(ids(&s.lookup("m", "x", 0, 10).1), ["0", "1", "2", "3", "4"]);
        assert_eq!(ids(&s.lookup("m", "x", 1, 2).1), ["1", "2"]);
        assert_eq!(s.lookup("m", "y", 0, 10).0, 0);
    }

    #[test]
    fn writes_move_the_index_and_empty_clears() {
        let mut s = Store::new(vec![contact("1", &[("email", "a@x"), ("phone", "1")])]);
        assert!(s.write_fields("1", &[write("email", "b@x"), write("phone", "")]));
        assert_eq!(s.lookup("email", "a@x", 0, 10).0, 0);
        assert_eq!(s.lookup("email", "B@X", 0, 10).0, 1);
        assert_eq!(s.lookup("phone", "1", 0, 10).0, 0);
        assert!(!s.get("1").unwrap().custom_fields.contains_key("phone"));
        assert!(!s.write_fields("2", &[write("email", "b@x")]));
    }

    #[test]
    fn a_field_written_twice_in_one_call_keeps_the_last_value() {
        let mut s = Store::new(vec![contact("1", &[])]);
        s.write_fields("1", &[write("f", "one"), write("f", "two")]);
        assert_eq!(
            s.get("1").unwrap().custom_fields["f"].as_deref(),
            Some("two")
        );
        assert_eq!(s.lookup("f", "one", 0, 10).0, 0);
        assert_eq!(s.lookup("f", "two", 0, 10).0, 1);
    }

    #[test]
    fn tags_are_a_set_that_keeps_order() {
        let mut s = Store::new(vec![contact("1", &[])]);
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        s.add_tags("1", &t(&["b", "a", "b"]));
        s.add_tags("1", &t(&["a", "c"]));
        assert_eq!(s.get("1").unwrap().tags, t(&["b", "a", "c"]));
        s.remove_tags("1", &t(&["a", "absent"]));
        assert_eq!(s.get("1").unwrap().tags, t(&["b", "c"]));
        assert!(!s.add_tags("2", &t(&["a"])));
        assert!(!s.remove_tags("2", &t(&["a"])));
    }

    #[test]
    fn insert_with_an_existing_id_replaces_and_reindexes() {
        let mut s = Store::new(vec![contact("1", &[("k", "old")])]);
        assert_eq!(
            s.lookup("k", "old", 0, 10).0,
            1,
            "k is indexed before the insert"
        );
        s.insert(contact("1", &[("k", "new")]));
        assert_eq!(s.len(), 1);
        assert_eq!(s.lookup("k", "old", 0, 10).0, 0);
        assert_eq!(s.lookup("k", "new", 0, 10).0, 1);
        assert_eq!(s.all().len(), 1);
    }
}
