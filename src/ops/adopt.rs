//! The adopt operation: the repo follows the platform. Load the config (keeping the bytes of every
//! file read), read and plan exactly as `plan` does (no write call, ever), turn each drifted
//! contact's changes into edits of the file and place that define them (positions from the
//! loader's own parse), refuse per contact what cannot be adopted for it alone, re-load the edited
//! config to prove it still loads, and write each changed file whole through a temporary file
//! renamed over it — never over a file that changed on disk since it was read.
//!
//! Never prints; the result is an [`Adoption`] for `render`.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::Error;
use super::session::{Endpoint, connect};
use super::targets::select;
use crate::api::RequestLog;
use crate::config::{self, At, CsvRecord, FileSource, Fs, Node, NodeKind, Style};
use crate::edit::report::{
    Adopted, Adoption, ContactAdoption, EditNote, FileChange, Left, LeftReason, NotInRepo, Refusal,
    RefusalReason,
};
use crate::edit::yaml::{Expect, List, Quote};
use crate::edit::{self, Splice};
use crate::model::{
    Config, DesiredContact, FieldType, Identity, SourceLoc, TagWrite, WriteMode, check_value,
};
use crate::plan::{Action, ContactError, ContactPlan, Plan, PlanOptions};
use crate::read::ReadOptions;

/// What to adopt, and how.
pub struct AdoptRequest<'a> {
    /// The config.
    pub path: &'a Path,
    /// `--channel`.
    pub channels: &'a [String],
    /// `--contact`.
    pub contacts: &'a [String],
    /// The API, or the sandbox.
    pub endpoint: &'a Endpoint,
    /// Write nothing (`--dry-run`).
    pub dry_run: bool,
    /// Logs each request (`-v`).
    pub log: Option<RequestLog>,
    /// Called for each file between its temporary file being written and the check that it is
    /// unchanged on disk (tests change the file there).
    pub before_rename: Option<&'a (dyn Fn(&Path) + Sync)>,
}

/// Read, plan and adopt: the edits made (or, with `dry_run`, that would be made).
pub async fn run(request: AdoptRequest<'_>) -> Result<Adoption, Error> {
    let files = Recorded::default();
    let config = config::load_from(&files, request.path).map_err(|diagnostics| Error::Config {
        path: request.path.to_path_buf(),
        diagnostics,
    })?;
    let targets = select(&config, request.channels, request.contacts)?;
    let session = connect(config, &targets.channels, request.endpoint, request.log).await?;
    let plan = super::plan::read_and_plan(
        &session.config,
        &session.clients,
        &targets,
        ReadOptions::default(),
        PlanOptions::default(),
        &|_| {},
    )
    .await;
    let read = files.take();
    let mut adoption = adopt(&session.config, &plan, &read)?;
    check_reloads(request.path, &read, &adoption)?;
    adoption.dry_run = request.dry_run;
    if !request.dry_run {
        write(&read, &adoption, request.before_rename)?;
    }
    Ok(adoption)
}

/// The files the loader read, by the name positions give them: their path and bytes.
pub type ReadFiles = BTreeMap<String, (PathBuf, Vec<u8>)>;

/// The file system, keeping a copy of every file the loader reads: adopt edits exactly the bytes
/// the config was loaded from, and refuses to write over a file that changed since.
#[derive(Default)]
struct Recorded(Mutex<ReadFiles>);

impl Recorded {
    fn take(&self) -> ReadFiles {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl FileSource for Recorded {
    fn entry(&self, path: &Path) -> io::Result<config::Entry> {
        Fs.entry(path)
    }
    fn files_in(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        Fs.files_in(dir)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let bytes = Fs.read(path)?;
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(
            path.display().to_string(),
            (path.to_path_buf(), bytes.clone()),
        );
        Ok(bytes)
    }
    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        Fs.resolve(path)
    }
}

/// The recorded files, some replaced by their edited text: the config as adopt would leave it.
struct Edited<'a> {
    read: &'a ReadFiles,
    edited: HashMap<&'a Path, &'a str>,
}

impl FileSource for Edited<'_> {
    fn entry(&self, path: &Path) -> io::Result<config::Entry> {
        Fs.entry(path)
    }
    fn files_in(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        Fs.files_in(dir)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if let Some(text) = self.edited.get(path) {
            return Ok(text.as_bytes().to_vec());
        }
        match self.read.get(&path.display().to_string()) {
            Some((_, bytes)) => Ok(bytes.clone()),
            None => Fs.read(path),
        }
    }
    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        Fs.resolve(path)
    }
}

/// Every edited file must load again as a config: an edit that breaks it is a bug of adopt, and
/// nothing is written.
fn check_reloads(path: &Path, read: &ReadFiles, adoption: &Adoption) -> Result<(), Error> {
    if adoption.files.is_empty() {
        return Ok(());
    }
    let edited = adoption
        .files
        .iter()
        .filter_map(|f| {
            read.get(&*f.file)
                .map(|(p, _)| (p.as_path(), f.after.as_str()))
        })
        .collect();
    config::load_from(&Edited { read, edited }, path)
        .map(|_| ())
        .map_err(|diagnostics| Error::AdoptBroke {
            problems: diagnostics.iter().map(ToString::to_string).collect(),
        })
}

/// The edits that make the files of `config` (as `read`) follow the platform where `plan` found
/// drift. Pure: reads no file, writes none. `Err` only for a bug: edits that overlap.
pub fn adopt(config: &Config, plan: &Plan, read: &ReadFiles) -> Result<Adoption, Error> {
    let by_identity: HashMap<(&str, &Identity), &DesiredContact> = config
        .contacts
        .iter()
        .map(|c| ((c.channel.as_str(), &c.identity), c))
        .collect();
    let mut cx = Context::new(config, read);
    let mut out = Adoption {
        orphans_unread: plan
            .orphans_unread()
            .map(|(channel, reason)| (channel.to_string(), reason.to_string()))
            .collect(),
        ..Adoption::default()
    };
    let mut splices: BTreeMap<Arc<str>, Vec<Splice>> = BTreeMap::new();
    let mut order: Vec<Arc<str>> = Vec::new();
    for c in &plan.contacts {
        let left = |reason: LeftReason| Left {
            channel: c.channel.clone(),
            identity: c.identity.clone(),
            source: c.source.clone(),
            reason,
        };
        match c.action {
            Action::Create => out.left_for_apply.push(left(LeftReason::Create)),
            Action::Error => {
                if matches!(c.error, Some(ContactError::Read(_))) {
                    out.unread += 1;
                }
                out.left_for_apply.push(left(LeftReason::NotPlanned(
                    crate::render::problems::contact_error(c).unwrap_or_else(|| "error".into()),
                )));
            }
            Action::Orphan => out.not_in_repo.push(NotInRepo {
                channel: c.channel.clone(),
                id: c.id.clone().unwrap_or_default(),
                identity: c.identity.clone(),
            }),
            Action::Unchanged => {}
            Action::Update => {
                let Some(desired) = by_identity.get(&(c.channel.as_str(), &c.identity)) else {
                    continue;
                };
                let drift = cx.drift(c, &mut |reason| out.left_for_apply.push(left(reason)));
                if drift.is_empty() {
                    continue;
                }
                let (edits, notes, refusal) = match cx.contact(desired, &drift) {
                    Ok(Edits { splices, notes }) => (splices, notes, None),
                    Err(refusal) => (Vec::new(), Vec::new(), Some(refusal)),
                };
                let file = &desired.source.file;
                // Only a contact with edits opens its file's list: a refused one before it in the
                // same file must not hide the file from `order`.
                if !edits.is_empty() {
                    if !splices.contains_key(file) {
                        order.push(file.clone());
                    }
                    splices.entry(file.clone()).or_default().extend(edits);
                }
                out.contacts.push(ContactAdoption {
                    channel: c.channel.clone(),
                    identity: c.identity.clone(),
                    source: desired.source.clone(),
                    edits: notes,
                    refusal,
                });
            }
        }
    }
    for file in order {
        let Some(text) = cx.text(&file) else { continue };
        let list = splices.remove(&file).unwrap_or_default();
        // Splices of different contacts never share bytes; if they did, nothing is written.
        let after = edit::apply(&text, &list).map_err(|e| Error::AdoptBroke {
            problems: vec![format!("{file}: {e}")],
        })?;
        out.files.push(FileChange {
            file,
            before: text,
            after,
        });
    }
    Ok(out)
}

/// A drifted value to take back from the platform.
#[derive(Debug, Clone)]
enum Drift {
    /// The field should hold the platform's value (`None`: cleared).
    Field(String, Option<String>),
    /// The tag is on the platform and should be listed.
    AddTag(String),
    /// The tag is not on the platform and should not be listed.
    RemoveTag(String),
}

/// The edits of one contact (all in its own file), and what each adopts.
#[derive(Default)]
struct Edits {
    splices: Vec<Splice>,
    notes: Vec<EditNote>,
}

/// The files' texts and parses, made once each.
struct Context<'a> {
    config: &'a Config,
    read: &'a ReadFiles,
    yaml: HashMap<Arc<str>, Option<Node>>,
    csv: HashMap<Arc<str>, Vec<CsvRecord>>,
}

impl<'a> Context<'a> {
    fn new(config: &'a Config, read: &'a ReadFiles) -> Self {
        Context {
            config,
            read,
            yaml: HashMap::new(),
            csv: HashMap::new(),
        }
    }

    fn text(&self, file: &str) -> Option<String> {
        self.read
            .get(file)
            .and_then(|(_, b)| String::from_utf8(b.clone()).ok())
    }

    /// The drift of `c` adopt can take back; what only apply resolves goes to `left`.
    fn drift(&self, c: &ContactPlan, left: &mut dyn FnMut(LeftReason)) -> Vec<Drift> {
        let marker = self.config.marker.as_ref().map(|m| m.field.as_str());
        let mut out = Vec::new();
        for f in &c.fields {
            if Some(f.name.as_str()) == marker {
                left(LeftReason::Marker);
            } else if self.config.field_mode(&f.name) == WriteMode::IfEmpty && f.before.is_none() {
                left(LeftReason::IfEmpty(f.name.clone()));
            } else {
                out.push(Drift::Field(f.name.clone(), f.before.clone()));
            }
        }
        for t in &c.tags_added {
            if self.config.tag_mode(t) == TagWrite::Add {
                left(LeftReason::AddOnlyTag(t.clone()));
            } else {
                out.push(Drift::RemoveTag(t.clone()));
            }
        }
        out.extend(c.tags_removed.iter().cloned().map(Drift::AddTag));
        out
    }

    fn yaml_root(&mut self, file: &Arc<str>) -> Option<&Node> {
        if !self.yaml.contains_key(file) {
            let root = self.text(file).and_then(|t| config::parse_yaml(&t).ok());
            self.yaml.insert(file.clone(), root);
        }
        self.yaml.get(file).and_then(Option::as_ref)
    }

    /// The edits of one contact, or why it cannot be adopted.
    fn contact(&mut self, desired: &DesiredContact, drift: &[Drift]) -> Result<Edits, Refusal> {
        let file = desired.source.file.clone();
        let text = self
            .text(&file)
            .ok_or_else(|| refusal(&desired.source, RefusalReason::FileUnreadable))?;
        if self.read.get(&*file).is_some_and(|(p, _)| is_yaml(p)) {
            let config = self.config;
            let root = self
                .yaml_root(&file)
                .ok_or_else(|| refusal(&desired.source, RefusalReason::FileUnparsable))?;
            yaml_contact(config, root, &text, desired, drift)
        } else {
            self.csv_contact(&text, desired, drift)
        }
    }

    /// The edits of a contact that is a row of a CSV source.
    fn csv_contact(
        &mut self,
        text: &str,
        desired: &DesiredContact,
        drift: &[Drift],
    ) -> Result<Edits, Refusal> {
        let file = desired.source.file.clone();
        let source = self
            .csv_source(&file)
            .ok_or_else(|| refusal(&desired.source, RefusalReason::NoSourceEntry))?;
        let records = self
            .csv
            .entry(file.clone())
            .or_insert_with(|| config::csv_records(text.as_bytes()));
        let (Some(header), Some(row)) = (
            records.first(),
            records
                .iter()
                .find(|r| r.line as usize == desired.source.line),
        ) else {
            return Err(refusal(&desired.source, RefusalReason::NoRow));
        };
        let cell_text = |range: &std::ops::Range<usize>| {
            edit::csv::unquote(text.get(range.clone()).unwrap_or_default())
        };
        let headers: Vec<String> = header.cells.iter().map(|r| cell_text(r).0).collect();
        let column = |name: &str| headers.iter().position(|h| h == name);
        let at_cell = |j: usize| SourceLoc {
            file: file.clone(),
            line: row.line as usize,
            col: j + 1,
        };
        let mut out = Edits::default();
        let mut tags_remove = Vec::new();
        let mut tags_add = Vec::new();
        // The fields that read the column headed `header`, and the cells written so far.
        let readers = |header: &str| -> Vec<&String> {
            // as the loader reads a row: the tags column holds tags only; a field reads the
            // column `columns:` maps it to, or else the one of its name (the marker never)
            if source.tags_column.as_deref() == Some(header) {
                return Vec::new();
            }
            let marker = self.config.marker.as_ref().map(|m| m.field.as_str());
            self.config
                .fields
                .keys()
                .filter(|g| match source.columns.get(*g) {
                    Some(h) => h == header,
                    None => g.as_str() == header && Some(g.as_str()) != marker,
                })
                .collect()
        };
        let mut written: Vec<usize> = Vec::new();
        for d in drift {
            match d {
                Drift::Field(name, value) => {
                    let header_name = source.columns.get(name).map_or(name.as_str(), |h| h);
                    let j = column(header_name)
                        .filter(|j| *j < row.cells.len())
                        .ok_or_else(|| refusal(&desired.source, RefusalReason::NoColumn))?;
                    let new_value = match value {
                        Some(v) => {
                            valid(self.config.field_type(name), name, v, &at_cell(j))?;
                            v.clone()
                        }
                        None if source.clear_empty => String::new(),
                        None => {
                            return Err(refusal(
                                &at_cell(j),
                                RefusalReason::EmptyCellKeeps(name.clone()),
                            ));
                        }
                    };
                    let range = row.cells[j].clone();
                    let (_, quoted) = cell_text(&range);
                    let new = edit::csv::cell(&new_value, quoted && !new_value.is_empty());
                    let (splice, note) = csv_edit(
                        &file,
                        text,
                        row.line,
                        j,
                        range,
                        new,
                        Adopted::Field(name.clone()),
                    );
                    // `columns:` may have two fields read one cell: it is written once, and only
                    // when every field that reads it drifted to the same value.
                    if let Some(other) = readers(&headers[j]).into_iter().find(|g| {
                        *g != name
                            && !drift
                                .iter()
                                .any(|d| matches!(d, Drift::Field(n, v) if n == *g && v == value))
                    }) {
                        return Err(refusal(
                            &at_cell(j),
                            RefusalReason::CellReadTwice {
                                column: headers[j].clone(),
                                first: name.clone(),
                                second: other.clone(),
                            },
                        ));
                    }
                    if !written.contains(&j) {
                        written.push(j);
                        out.splices.push(splice);
                    }
                    out.notes.push(note);
                }
                Drift::AddTag(t) => tags_add.push(t.clone()),
                Drift::RemoveTag(t) => {
                    if let Some(at) = source.tags.get(t) {
                        return Err(refusal(at, RefusalReason::TagOfEveryRow(t.clone())));
                    }
                    tags_remove.push(t.clone());
                }
            }
        }
        if !tags_add.is_empty() || !tags_remove.is_empty() {
            let j = source
                .tags_column
                .as_deref()
                .and_then(column)
                .filter(|j| *j < row.cells.len())
                .ok_or_else(|| refusal(&source.at, RefusalReason::NoTagsColumn))?;
            let range = row.cells[j].clone();
            let (old, quoted) = cell_text(&range);
            let value = edit::csv::tags(&old, &tags_remove, &tags_add);
            let new = edit::csv::cell(&value, quoted);
            let what = Adopted::TagAdded(String::new());
            let (splice, note) = csv_edit(&file, text, row.line, j, range, new, what);
            out.splices.push(splice);
            // one note per tag, each showing the cell's edit
            for adopts in tags_add
                .iter()
                .cloned()
                .map(Adopted::TagAdded)
                .chain(tags_remove.iter().cloned().map(Adopted::TagRemoved))
            {
                out.notes.push(EditNote {
                    adopts,
                    ..note.clone()
                });
            }
        }
        Ok(out)
    }

    /// The settings of the `sources:` entry that reads `file`.
    fn csv_source(&mut self, file: &str) -> Option<CsvSource> {
        let yaml_files: Vec<Arc<str>> = self
            .read
            .iter()
            .filter(|(_, (p, _))| is_yaml(p))
            .map(|(name, _)| Arc::from(name.as_str()))
            .collect();
        for yaml in yaml_files {
            let Some(root) = self.yaml_root(&yaml) else {
                continue;
            };
            let Some(Node {
                kind: NodeKind::Seq(sources),
                ..
            }) = root.get("sources")
            else {
                continue;
            };
            for s in sources {
                let Some(NodeKind::Str(csv)) = s.get("csv").map(|n| &n.kind) else {
                    continue;
                };
                let dir = Path::new(&*yaml).parent().unwrap_or(Path::new(""));
                if dir.join(csv.as_str()).display().to_string() != file {
                    continue;
                }
                let loc = |n: &Node| SourceLoc {
                    file: yaml.clone(),
                    line: n.pos.line as usize,
                    col: n.pos.col as usize,
                };
                let text = |n: Option<&Node>| match n.map(|n| &n.kind) {
                    Some(NodeKind::Str(s)) => Some(s.to_string()),
                    _ => None,
                };
                let mut tags = BTreeMap::new();
                if let Some(Node {
                    kind: NodeKind::Seq(items),
                    ..
                }) = s.get("tags")
                {
                    for item in items {
                        if let NodeKind::Str(t) = &item.kind {
                            tags.insert(t.to_string(), loc(item));
                        }
                    }
                }
                let mut columns = BTreeMap::new();
                if let Some(Node {
                    kind: NodeKind::Map(entries),
                    ..
                }) = s.get("columns")
                {
                    for e in entries {
                        if let NodeKind::Str(h) = &e.value.kind {
                            columns.insert(e.key.to_string(), h.to_string());
                        }
                    }
                }
                return Some(CsvSource {
                    at: loc(s),
                    tags,
                    tags_column: text(s.get("tags_column")),
                    clear_empty: text(s.get("empty")).as_deref() == Some("clear"),
                    columns,
                });
            }
        }
        None
    }
}

/// A `sources:` entry, as adopt needs it.
struct CsvSource {
    /// Where the entry is.
    at: SourceLoc,
    /// Its `tags:`, each with where it is written.
    tags: BTreeMap<String, SourceLoc>,
    tags_column: Option<String>,
    clear_empty: bool,
    /// `columns:`: field → header.
    columns: BTreeMap<String, String>,
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

fn refusal(at: &SourceLoc, reason: RefusalReason) -> Refusal {
    Refusal {
        at: at.clone(),
        reason,
    }
}

/// The platform's value must be one the config accepts for the field.
fn valid(ty: FieldType, name: &str, value: &str, at: &SourceLoc) -> Result<(), Refusal> {
    check_value(ty, value).map_err(|why| {
        refusal(
            at,
            RefusalReason::Invalid {
                field: name.to_string(),
                ty: ty.as_str(),
                why,
            },
        )
    })
}

fn csv_edit(
    file: &Arc<str>,
    text: &str,
    line: u32,
    cell: usize,
    range: std::ops::Range<usize>,
    new: String,
    adopts: Adopted,
) -> (Splice, EditNote) {
    let note = EditNote {
        file: file.clone(),
        line: line as usize,
        column: cell + 1,
        adopts,
        old: text.get(range.clone()).unwrap_or_default().to_string(),
        new: new.clone(),
    };
    (
        Splice {
            start: range.start,
            end: range.end,
            text: new,
        },
        note,
    )
}

/// Where `node` is used, as the loader positions it.
fn pos_loc(file: &Arc<str>, node: &Node) -> SourceLoc {
    SourceLoc {
        file: file.clone(),
        line: node.pos.line as usize,
        col: node.pos.col as usize,
    }
}

/// The contact node of `desired` in its file's parse.
fn contact_node<'n>(root: &'n Node, desired: &DesiredContact) -> Option<&'n Node> {
    match &root.get("contacts")?.kind {
        NodeKind::Seq(items) => items.iter().find(|n| {
            n.pos.line as usize == desired.source.line && n.pos.col as usize == desired.source.col
        }),
        _ => None,
    }
}

/// The edits of a contact written in YAML.
fn yaml_contact(
    config: &Config,
    root: &Node,
    text: &str,
    desired: &DesiredContact,
    drift: &[Drift],
) -> Result<Edits, Refusal> {
    let file = desired.source.file.clone();
    let node = contact_node(root, desired)
        .ok_or_else(|| refusal(&desired.source, RefusalReason::ContactGone))?;
    let loc = |at: &At| {
        let (line, col) = edit::line_col(text, at.start as usize);
        SourceLoc {
            file: file.clone(),
            line,
            col,
        }
    };
    let note = |offset: usize, old: &str, new: &str, adopts: Adopted| {
        let (line, column) = edit::line_col(text, offset);
        EditNote {
            file: file.clone(),
            line,
            column,
            adopts,
            old: old.to_string(),
            new: new.to_string(),
        }
    };
    let mut out = Edits::default();
    let mut remove = Vec::new();
    let mut add = Vec::new();
    for d in drift {
        match d {
            Drift::Field(name, value) => {
                let fields = node
                    .get("fields")
                    .ok_or_else(|| refusal(&desired.source, RefusalReason::NoFields))?;
                let entry = fields.entry(name).ok_or_else(|| {
                    refusal(&desired.source, RefusalReason::NoField(name.clone()))
                })?;
                let v = &entry.value;
                if v.at.shared {
                    // where this contact uses it (an alias's bytes are its anchor's)
                    return Err(refusal(&pos_loc(&file, v), RefusalReason::Shared));
                }
                if matches!(v.at.style, Style::Flow | Style::Lines) {
                    return Err(refusal(&loc(&v.at), RefusalReason::BlockScalar));
                }
                let ty = config.field_type(name);
                if v.at.style == Style::Block {
                    // a block scalar stays one, at its indentation (a literal block: a folded
                    // one's folding would change the value), when one can hold the value
                    if let Some(v_new) = value {
                        valid(ty, name, v_new, &loc(&v.at))?;
                    }
                    let text_field = !matches!(ty, FieldType::Number | FieldType::Boolean);
                    let splices = edit::yaml::block_header(text, entry.key_end as usize)
                        .filter(|_| text_field)
                        .and_then(|header| {
                            edit::yaml::set_block(text, header, v.at.end as usize, value.as_deref())
                        })
                        .ok_or_else(|| refusal(&loc(&v.at), RefusalReason::BlockScalar))?;
                    // the note shows the content lines, or the header's `null`
                    let (old, new) = (
                        text.get(v.at.start as usize..v.at.end as usize)
                            .unwrap_or_default(),
                        match value {
                            Some(_) => splices.last().map_or("", |s| s.text.as_str()),
                            None => "null",
                        },
                    );
                    let at = splices.first().map_or(v.at.start as usize, |s| s.start);
                    out.notes
                        .push(note(at, old, new, Adopted::Field(name.clone())));
                    out.splices.extend(splices);
                    continue;
                }
                let new = match value {
                    None => "null".to_string(),
                    Some(v_new) => {
                        valid(ty, name, v_new, &loc(&v.at))?;
                        let expect = match ty {
                            FieldType::Number => Expect::Number,
                            FieldType::Boolean => Expect::Boolean,
                            _ => Expect::Text,
                        };
                        let quote = match v.at.style {
                            Style::Single => Quote::Single,
                            Style::Double => Quote::Double,
                            _ => Quote::Plain,
                        };
                        let flow = fields.at.style == Style::Flow;
                        edit::yaml::scalar(v_new, expect, quote, flow)
                    }
                };
                let (start, end) = (v.at.start as usize, v.at.end as usize);
                let splice = edit::yaml::set_value(text, entry.key_end as usize, start, end, &new)
                    .map_err(|e| refusal(&loc(&v.at), RefusalReason::Edit(e.to_string())))?;
                let old = text.get(start..end).unwrap_or_default();
                out.notes
                    .push(note(splice.start, old, &new, Adopted::Field(name.clone())));
                out.splices.push(splice);
            }
            Drift::AddTag(t) => add.push(t.clone()),
            Drift::RemoveTag(t) => remove.push(t.clone()),
        }
    }
    if add.is_empty() && remove.is_empty() {
        return Ok(out);
    }
    let entry = node
        .entry("tags")
        .ok_or_else(|| refusal(&desired.source, RefusalReason::NoTags))?;
    let list = &entry.value;
    if list.at.shared {
        return Err(refusal(&pos_loc(&file, list), RefusalReason::Shared));
    }
    let NodeKind::Seq(items) = &list.kind else {
        return Err(refusal(&loc(&list.at), RefusalReason::TagsNotAList));
    };
    let flow = list.at.style == Style::Flow;
    let indexes: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(
            |(_, n)| matches!(&n.kind, NodeKind::Str(s) if remove.iter().any(|r| r == s.as_str())),
        )
        .map(|(i, _)| i)
        .collect();
    let written: Vec<String> = add
        .iter()
        .map(|t| edit::yaml::scalar(t, Expect::Text, Quote::Plain, flow))
        .collect();
    let spec = List {
        flow,
        start: list.at.start as usize,
        key_end: entry.key_end as usize,
        items: items
            .iter()
            .map(|n| (n.at.start as usize, n.at.end as usize))
            .collect(),
    };
    let splices = edit::yaml::edit_list(text, &spec, &indexes, &written)
        .map_err(|e| refusal(&loc(&list.at), RefusalReason::Edit(e.to_string())))?;
    out.splices.extend(splices);
    for &i in &indexes {
        let item = &items[i];
        let tag = match &item.kind {
            NodeKind::Str(s) => s.to_string(),
            _ => String::new(),
        };
        let old = text
            .get(item.at.start as usize..item.at.end as usize)
            .unwrap_or_default();
        out.notes.push(note(
            item.at.start as usize,
            old,
            "",
            Adopted::TagRemoved(tag),
        ));
    }
    let at = items
        .last()
        .map_or(list.at.end as usize, |n| n.at.end as usize);
    for (t, w) in add.iter().zip(&written) {
        out.notes
            .push(note(at, "", w, Adopted::TagAdded(t.clone())));
    }
    Ok(out)
}

/// Write each changed file whole: a temporary file beside its target (a symbolic link is followed
/// to the file it names, and stays a link), the target's permissions, then renamed over the
/// target — unless the target's bytes are no longer those read, which stops the writing.
fn write(
    read: &ReadFiles,
    adoption: &Adoption,
    before_rename: Option<&(dyn Fn(&Path) + Sync)>,
) -> Result<(), Error> {
    let changed = |file: &str, path: &Path| Error::FileChanged {
        file: file.to_string(),
        path: path.to_path_buf(),
    };
    let io = |path: &Path, source: io::Error| Error::AdoptWrite {
        path: path.to_path_buf(),
        source,
    };
    // every file is checked before any is written
    for f in &adoption.files {
        let Some((path, bytes)) = read.get(&*f.file) else {
            continue;
        };
        if std::fs::read(path).ok().as_ref() != Some(bytes) {
            return Err(changed(&f.file, path));
        }
    }
    for f in &adoption.files {
        let Some((path, bytes)) = read.get(&*f.file) else {
            continue;
        };
        let target = std::fs::canonicalize(path).map_err(|e| io(path, e))?;
        let dir = target.parent().unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{name}.adopt-{}.tmp", std::process::id()));
        let result = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .map_err(|e| io(&temp, e))?;
            file.write_all(f.after.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| io(&temp, e))?;
            let permissions = std::fs::metadata(&target)
                .map_err(|e| io(&target, e))?
                .permissions();
            std::fs::set_permissions(&temp, permissions).map_err(|e| io(&temp, e))?;
            if let Some(hook) = before_rename {
                hook(path);
            }
            if std::fs::read(&target).ok().as_ref() != Some(bytes) {
                return Err(changed(&f.file, path));
            }
            std::fs::rename(&temp, &target).map_err(|e| io(&target, e))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReadFailure;
    use crate::plan::{FieldChange, Summary};

    /// The config in `dir` from `files` (name → text), loaded as adopt loads it.
    fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, Config, ReadFiles) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let recorded = Recorded::default();
        let config = config::load_from(&recorded, dir.path()).unwrap();
        (dir, config, recorded.take())
    }

    const HEAD: &str = "version: 1\nchannels:\n  web: { base_url: https://x.example/api, token_env: T }\n\
                        fields:\n  email: { type: email }\n  firstName: { type: text }\n\
                        tags: [VIP, Blog]\ndefaults: { channel: web, key: email }\n";

    /// An update of the contact keyed `email`: fields (name, platform, repo) and tags.
    fn update(
        email: &str,
        fields: &[(&str, Option<&str>)],
        tags_added: &[&str],
        tags_removed: &[&str],
    ) -> ContactPlan {
        ContactPlan {
            channel: "web".into(),
            identity: Identity::Key {
                field: "email".into(),
                value: email.into(),
            },
            id: Some("1".into()),
            action: Action::Update,
            fields: fields
                .iter()
                .map(|(n, before)| FieldChange {
                    name: n.to_string(),
                    before: before.map(String::from),
                    after: Some("x".into()),
                    protected: false,
                })
                .collect(),
            tags_added: tags_added.iter().map(|t| t.to_string()).collect(),
            tags_removed: tags_removed.iter().map(|t| t.to_string()).collect(),
            error: None,
            calls: vec![],
            marker_only: false,
            source: None,
            live: None,
            kept: vec![],
        }
    }

    fn plan(contacts: Vec<ContactPlan>) -> Plan {
        Plan {
            contacts,
            summary: Summary::default(),
            channels: vec![],
            warnings: vec![],
            prune: false,
            scope: None,
        }
    }

    fn reasons(a: &Adoption) -> Vec<String> {
        a.contacts
            .iter()
            .filter_map(|c| c.refusal.as_ref())
            .map(|r| format!("{}:{}: {}", r.at.line, r.at.col, r.reason))
            .collect()
    }

    #[test]
    fn a_value_shared_through_an_anchor_is_refused_for_both_contacts() {
        let team = "contacts:\n  - fields: { email: a@x.example, firstName: &n Ann }\n  \
                    - fields: { email: b@x.example, firstName: *n }\n";
        let (_dir, config, read) = load(&[("a.yaml", HEAD), ("b.yaml", team)]);
        let p = plan(vec![
            update("a@x.example", &[("firstName", Some("Anne"))], &[], &[]),
            update("b@x.example", &[("firstName", Some("Anne"))], &[], &[]),
        ]);
        let a = adopt(&config, &p, &read).unwrap();
        let got = reasons(&a);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("2:49: this value is shared through a YAML anchor"),
            "{got:?}"
        );
        assert!(got[1].starts_with("3:46: this value is shared"), "{got:?}");
        assert!(a.files.is_empty(), "nothing edited");
    }

    #[test]
    fn a_contact_refused_first_in_a_file_does_not_keep_the_next_one_s_edits_out_of_it() {
        let team = "contacts:\n  - fields: { email: a@x.example, firstName: &n Ann }\n  \
                    - fields: { email: b@x.example, firstName: *n }\n  \
                    - fields: { email: c@x.example, firstName: Cy }\n";
        let (_dir, config, read) = load(&[("a.yaml", HEAD), ("b.yaml", team)]);
        let p = plan(vec![
            update("a@x.example", &[("firstName", Some("Anne"))], &[], &[]),
            update("c@x.example", &[("firstName", Some("Cyd"))], &[], &[]),
        ]);
        let a = adopt(&config, &p, &read).unwrap();
        assert_eq!(reasons(&a).len(), 1, "{:?}", reasons(&a));
        assert_eq!(a.adopted(), 1);
        assert_eq!(a.files.len(), 1, "the adopted contact's file is written");
        assert!(
            a.files[0].after.ends_with("firstName: Cyd }\n"),
            "{}",
            a.files[0].after
        );
    }

    #[test]
    fn csv_refusals_name_the_place_and_the_other_contacts_are_still_adopted() {
        let sources = "sources:\n  - csv: s.csv\n  - csv: t.csv\n    empty: clear\n";
        let (_dir, config, read) = load(&[
            ("a.yaml", HEAD),
            ("b.yaml", sources),
            (
                "s.csv",
                "email,firstName\na@x.example,Ann\nb@x.example,Bo\n",
            ),
            ("t.csv", "email,firstName\nc@x.example,Cy\n"),
        ]);
        let p = plan(vec![
            // tags drifted, no tags column
            update("a@x.example", &[], &[], &["VIP"]),
            // cleared on the platform, empty: keep
            update("b@x.example", &[("firstName", None)], &[], &[]),
            // cleared, empty: clear: adopted
            update("c@x.example", &[("firstName", None)], &[], &[]),
        ]);
        let a = adopt(&config, &p, &read).unwrap();
        let got = reasons(&a);
        assert!(got[0].starts_with("2:5: its tags drifted, and this source has no tags column"));
        assert!(got[1].starts_with("3:2: firstName is empty on the platform, and an empty cell"));
        assert_eq!(a.adopted(), 1);
        assert_eq!(a.files.len(), 1);
        assert_eq!(a.files[0].after, "email,firstName\nc@x.example,\n");
    }

    #[test]
    fn a_block_value_is_adopted_as_a_literal_block_at_its_place() {
        let team = "contacts:\n  - fields:\n      email: a@x.example\n      firstName: | # two lines\n        Ann\n        Marie\n    tags: [VIP]\n  - fields:\n      email: b@x.example\n      firstName: >\n        Bo\n";
        let (_dir, config, read) = load(&[("a.yaml", HEAD), ("b.yaml", team)]);
        let p = plan(vec![
            update(
                "a@x.example",
                &[("firstName", Some("Anne\nMarie"))],
                &[],
                &[],
            ),
            // a value with leading spaces: no literal block holds it exactly
            update("b@x.example", &[("firstName", Some("  Bob"))], &[], &[]),
        ]);
        let a = adopt(&config, &p, &read).unwrap();
        let got = reasons(&a);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("11:9: this value is written as a block"),
            "{got:?}"
        );
        assert_eq!(a.adopted(), 1);
        assert_eq!(
            a.files[0].after,
            team.replace(
                "firstName: | # two lines\n        Ann\n",
                "firstName: |- # two lines\n        Anne\n"
            )
        );
    }

    #[test]
    fn a_csv_column_read_by_two_fields_is_written_once_or_refused_when_they_differ() {
        let head = HEAD.replace(
            "  firstName: { type: text }\n",
            "  firstName: { type: text }\n  nickname: { type: text }\n",
        );
        let sources = "sources:\n  - csv: s.csv\n    columns: { nickname: firstName }\n";
        let (_dir, config, read) = load(&[
            ("a.yaml", &head),
            ("b.yaml", sources),
            (
                "s.csv",
                "email,firstName\na@x.example,Ann\nb@x.example,Bo\n",
            ),
        ]);
        let p = plan(vec![
            // both fields read the cell, and the platform agrees on one value: written once
            update(
                "a@x.example",
                &[("firstName", Some("Anne")), ("nickname", Some("Anne"))],
                &[],
                &[],
            ),
            // the platform holds two values for the one cell: neither can be written
            update(
                "b@x.example",
                &[("firstName", Some("Bob")), ("nickname", Some("Bobby"))],
                &[],
                &[],
            ),
        ]);
        let a = adopt(&config, &p, &read).unwrap();
        let got = reasons(&a);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("3:2: "), "{got:?}");
        assert!(
            got[0].contains("firstName") && got[0].contains("nickname"),
            "{got:?}"
        );
        assert_eq!(a.adopted(), 1);
        assert_eq!(a.files.len(), 1);
        assert_eq!(
            a.files[0].after,
            "email,firstName\na@x.example,Anne\nb@x.example,Bo\n"
        );

        // only one of the two drifted: adopting it would change the other's value too
        let p = plan(vec![update(
            "a@x.example",
            &[("firstName", Some("Anne"))],
            &[],
            &[],
        )]);
        let a = adopt(&config, &p, &read).unwrap();
        let got = reasons(&a);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("2:2: column \"firstName\" is read as both firstName and nickname"),
            "{got:?}"
        );
        assert!(a.files.is_empty());
    }

    #[test]
    fn a_contact_that_could_not_be_read_is_counted_unread_and_an_ambiguous_one_is_not() {
        let team =
            "contacts:\n  - fields: { email: a@x.example }\n  - fields: { email: b@x.example }\n";
        let (_dir, config, read) = load(&[("a.yaml", HEAD), ("b.yaml", team)]);
        let failed = |email: &str, error: ContactError| ContactPlan {
            action: Action::Error,
            error: Some(error),
            ..update(email, &[], &[], &[])
        };
        let p = plan(vec![
            failed(
                "a@x.example",
                ContactError::Read(ReadFailure::ChannelStopped {
                    reason: "channel web: the API refused the token in $T (401)".into(),
                }),
            ),
            failed(
                "b@x.example",
                ContactError::Ambiguous {
                    ids: vec!["1".into(), "2".into()],
                    total: 2,
                },
            ),
        ]);
        let a = adopt(&config, &p, &read).unwrap();
        assert_eq!(a.left_for_apply.len(), 2);
        assert_eq!(a.unread, 1, "only the contact whose read failed");
    }

    #[test]
    fn what_only_apply_resolves_is_left_for_it_and_an_add_tag_is_never_removed() {
        let team = "contacts:\n  - fields: { email: a@x.example, firstName: Ann }\n    \
                    tags: [VIP, Blog]\n";
        let (_dir, mut config, read) = load(&[("a.yaml", HEAD), ("b.yaml", team)]);
        config
            .field_modes
            .insert("firstName".into(), WriteMode::IfEmpty);
        config.tag_modes.insert("VIP".into(), TagWrite::Add);
        config.marker = Some(crate::model::Marker {
            field: "managed_by".into(),
            value: "git".into(),
        });
        let with_action = |action: Action, error: Option<ContactError>| ContactPlan {
            action,
            error,
            ..update("new@x.example", &[], &[], &[])
        };
        let p = plan(vec![
            update(
                "a@x.example",
                &[("firstName", None), ("managed_by", None)],
                &["VIP", "Blog"],
                &[],
            ),
            with_action(Action::Create, None),
            with_action(
                Action::Error,
                Some(ContactError::Ambiguous {
                    ids: vec!["1".into(), "2".into()],
                    total: 2,
                }),
            ),
            with_action(Action::Orphan, None),
        ]);
        let a = adopt(&config, &p, &read).unwrap();
        let left: Vec<String> = a
            .left_for_apply
            .iter()
            .map(|l| l.reason.to_string())
            .collect();
        assert_eq!(
            left,
            [
                "firstName is empty on the platform (write: if_empty): apply fills it",
                "the marker is not written yet: apply writes it",
                "tag \"VIP\" (write: add) is not on the platform: apply adds it",
                "not on the platform: apply creates it",
                "could not be planned: email=new@x.example matches 2 contacts: 1, 2",
            ]
        );
        assert_eq!(a.not_in_repo.len(), 1, "the orphan, for import");
        assert_eq!(
            a.files[0].after,
            "contacts:\n  - fields: { email: a@x.example, firstName: Ann }\n    tags: [VIP]\n"
        );
    }

    mod generated {
        use super::*;
        use crate::edit::yaml::{Expect, Quote, scalar};
        use crate::model::{Found, LiveContact, LiveState};
        use proptest::prelude::*;

        const VALUES: &[&str] = &[
            "Ann",
            "007",
            "+34600111222",
            "null",
            "true",
            "a: b",
            "x #y",
            "it's",
            "Ana María",
            "a,b",
            "[x]",
            "-",
            "",
        ];
        const TAGS: &[&str] = &["VIP", "Blog", "Platform Updates"];

        /// One generated contact: (flow, quote of firstName, firstName, tags as (flow, list)).
        type Gen = (bool, u8, usize, Option<(bool, Vec<usize>)>);

        fn contact(i: usize, g: &Gen, eol: &str) -> String {
            let (flow, quote, value, tags) = g;
            let quote = [Quote::Plain, Quote::Single, Quote::Double][*quote as usize % 3];
            let name = scalar(VALUES[*value], Expect::Text, quote, *flow);
            let name = if VALUES[*value].is_empty() {
                "\"\"".into()
            } else {
                name
            };
            let tag_list = |flow: bool, list: &[usize], indent: &str| -> String {
                if flow || list.is_empty() {
                    let items: Vec<String> = list
                        .iter()
                        .map(|t| scalar(TAGS[*t], Expect::Text, Quote::Plain, true))
                        .collect();
                    format!(" [{}]  # tags of {i}", items.join(", "))
                } else {
                    list.iter()
                        .map(|t| format!("{eol}{indent}- {}  # why {t}", TAGS[*t]))
                        .collect()
                }
            };
            let mut out = format!("  # contact {i}{eol}");
            if *flow {
                out.push_str(&format!(
                    "  - {{ fields: {{ email: c{i}@x.example, firstName: {name} }}"
                ));
                if let Some((_, list)) = tags {
                    out.push_str(&format!(", tags:{} ", tag_list(true, list, "")));
                    out.truncate(out.trim_end_matches(' ').len());
                    // a comment cannot sit inside the braces: the tags' one goes after them
                    let at = out.rfind("  # tags of").unwrap();
                    let comment = out.split_off(at);
                    out.push_str(" }");
                    out.push_str(&comment);
                } else {
                    out.push_str(" }  # flow");
                }
                out.push_str(eol);
            } else {
                out.push_str(&format!(
                    "  - fields:{eol}      email: c{i}@x.example  # key{eol}      firstName: {name}   # name{eol}"
                ));
                if let Some((flow, list)) = tags {
                    out.push_str(&format!(
                        "    tags:{}{eol}",
                        tag_list(*flow, list, "      ")
                    ));
                }
            }
            out.push_str(eol);
            out
        }

        fn live(config: &Config, platform: &[(Option<usize>, Vec<usize>)]) -> LiveState {
            LiveState {
                contacts: config
                    .contacts
                    .iter()
                    .enumerate()
                    .map(|(i, _)| {
                        let (name, tags) = &platform[i];
                        let mut fields = crate::model::Fields::new();
                        fields.insert("email", Some(format!("c{i}@x.example").into()));
                        fields.insert(
                            "firstName",
                            name.map(|v| VALUES[v])
                                .filter(|v| !v.is_empty())
                                .map(Into::into),
                        );
                        let tags = tags.iter().map(|t| TAGS[*t].to_string()).collect();
                        (
                            i,
                            Found::Present(LiveContact {
                                id: i.to_string(),
                                fields,
                                tags,
                            }),
                        )
                    })
                    .collect(),
                orphans: vec![],
                reads: BTreeMap::new(),
                orphans_unread: Default::default(),
            }
        }

        fn tag_set() -> impl Strategy<Value = Vec<usize>> {
            proptest::sample::subsequence(vec![0usize, 1, 2], 0..=3)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
            #[test]
            fn adopting_then_planning_shows_no_change_and_keeps_every_comment(
                contacts in proptest::collection::vec(
                    (any::<bool>(), 0u8..3, 0..VALUES.len(),
                     proptest::option::of((any::<bool>(), tag_set()))),
                    1..5),
                platform in proptest::collection::vec(
                    (proptest::option::of(0..VALUES.len()), tag_set()), 5),
                crlf in any::<bool>(),
            ) {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut team = format!("# the team{eol}contacts:{eol}");
                for (i, g) in contacts.iter().enumerate() {
                    team.push_str(&contact(i, g, eol));
                }
                team.push_str(&format!("# end{eol}"));
                let head = HEAD.replace("tags: [VIP, Blog]", "tags: [VIP, Blog, Platform Updates]");
                let (dir, config, read) = load(&[("a.yaml", &head), ("b.yaml", &team)]);
                let first = crate::plan::plan(&config, live(&config, &platform), PlanOptions::default());
                let adoption = adopt(&config, &first, &read).unwrap();
                prop_assert_eq!(adoption.refused(), 0, "{:?}", adoption.contacts);
                let drifted = first.contacts.iter().filter(|c| c.action == Action::Update).count();
                prop_assert_eq!(adoption.adopted(), drifted);

                // every written file re-parses and keeps its comment lines
                for f in &adoption.files {
                    prop_assert!(config::parse_yaml(&f.after).is_ok(), "{}", f.after);
                    for line in f.before.lines().filter(|l| l.trim_start().starts_with('#')) {
                        prop_assert!(f.after.lines().any(|l| l == line), "{line:?} lost:\n{}", f.after);
                    }
                }
                // planning the edited config against the same platform: no change
                let edited = Edited {
                    read: &read,
                    edited: adoption
                        .files
                        .iter()
                        .map(|f| (read[&*f.file].0.as_path(), f.after.as_str()))
                        .collect(),
                };
                let reloaded = config::load_from(&edited, dir.path());
                prop_assert!(reloaded.is_ok(), "{:?}\n{team}", reloaded.err());
                let reloaded = reloaded.unwrap();
                let again = crate::plan::plan(&reloaded, live(&reloaded, &platform), PlanOptions::default());
                for c in &adoption.contacts {
                    let after = again.contacts.iter().find(|p| p.identity == c.identity).unwrap();
                    prop_assert_eq!(after.action, Action::Unchanged, "{:?}\n{}", after, adoption.files.iter().map(|f| f.after.clone()).collect::<String>());
                }
            }
        }
    }
}
