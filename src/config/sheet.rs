//! CSV sources: a `sources:` entry → its CSV file, read with the `csv` crate → one desired
//! contact per row, checked by the very rules a YAML contact is (`check::Rules`, `wire_value`,
//! one identity space with the YAML contacts). Settings of the source that are wrong are reported
//! where they are written in the YAML; problems of the file, where they are in the file.
//!
//! A position in a CSV file is LINE:COL where LINE is the line on which the row's record starts
//! (the header is line 1; a quoted cell holding a line break makes a record span lines, and all
//! its cells are reported at its first line, so every problem of one row shares its line), and
//! COL is the 1-based index of the cell in its row, not a character column. LINE comes from the
//! csv crate's `Position` of the record, moved past the line breaks in front of it (see
//! `line_of`). `cell_offsets` maps such positions back to the text, for excerpts.
//!
//! Rows are streamed through one reused `StringRecord` into the model: no tree per row.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::ControlFlow;
use std::path::{Component, Path};
use std::sync::Arc;

use compact_str::CompactString;

use crate::model::{DesiredContact, FieldType, Fields, Identity, SourceLoc};

use super::check::{Identities, KeyField, Rules, type_mismatch, wire_value};
use super::diag::{Diags, Pos};
use super::problem::{CheckProblem, Item, Problem, Ragged, SheetProblem};
use super::raw::{EmptyCells, RawSource};
use super::source::{self, Entry, FileSource};
use super::yaml::Node;
use super::{ConfigHash, FileKind, MAX_FILE_BYTES};

/// What a column of the sheet is for.
#[derive(Debug, Clone, PartialEq)]
enum Role<'a> {
    /// Values of these fields (usually one; several when `columns:` maps them all to it), each
    /// with its declared type (`None`: invalid, already reported).
    Fields(Vec<(&'a str, Option<FieldType>)>),
    /// Tags, separated by `;`.
    Tags,
    /// Skipped: listed in `ignore_columns`, or reported as a problem.
    Skip,
}

/// Where a sheet's bytes come from, and the config hash they are added to.
pub(super) struct Files<'a> {
    /// The tree the config is read from.
    pub source: &'a dyn FileSource,
    /// The config's hash: every sheet read is part of it.
    pub hash: &'a mut ConfigHash,
}

/// Read the source `raw` (written at `node`) from `files` and append a contact per row of its
/// file to `out`.
pub(super) fn read(
    raw: &RawSource,
    node: &Node,
    rules: &Rules<'_>,
    identities: &mut Identities,
    diags: &mut Diags,
    files: &mut Files<'_>,
    out: &mut Vec<DesiredContact>,
) {
    // The source's settings, checked in the YAML whatever the file holds.
    let settings = Settings::check(raw, node, rules, diags);
    let Some((file, bytes)) = open_sheet(raw, node, files, diags) else {
        return;
    };
    let name = diags.shared_name(file);

    // Header and rows are read alike (no `has_headers`), so the header's position is known too.
    // `flexible`: a ragged row is reported here, at the cell where it goes wrong.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut record = csv::StringRecord::new();
    if !read_header(&mut reader, &mut record, file, diags) {
        return;
    }
    let header_line = line_of(&record, &bytes);
    let header: Vec<String> = record.iter().map(str::to_string).collect();
    let sheet = Sheet {
        raw,
        rules,
        mapped: &settings.mapped,
        file,
        name: &name,
    };
    let roles = sheet.roles(&header, header_line, diags);
    sheet.missing_columns(&header, node, diags);
    let key_col = sheet.key_column(settings.key, &roles, node, diags);

    let row = Row {
        channel: settings.channel.as_deref(),
        format: settings.format,
        key_col,
        source_tags: settings.source_tags.as_ref(),
        tags_wanted: raw.tags_column.is_some() || raw.tags.is_some(),
        clear_empty: raw.empty == EmptyCells::Clear,
        header: &header,
        roles: &roles,
        file,
    };
    let mut rows = Rows {
        reader: &mut reader,
        record: &mut record,
        bytes: &bytes,
    };
    rows.read(&row, &sheet, identities, diags, out);
}

/// A source's settings, checked in the YAML: what every row is read with.
struct Settings<'a> {
    /// The channel, `None` when it is missing or wrong (reported).
    channel: Option<String>,
    format: crate::model::BooleanFormat,
    /// The key field, `None` when it is missing or wrong (reported).
    key: Option<&'a str>,
    /// `columns:`, the fields that are declared: field → header.
    mapped: BTreeMap<&'a str, &'a str>,
    /// `tags:`, the tags every row has.
    source_tags: Option<BTreeSet<String>>,
}

impl<'a> Settings<'a> {
    /// The settings of the source `raw`, written at `node`; what is wrong is reported there.
    fn check(raw: &'a RawSource, node: &Node, rules: &'a Rules<'_>, diags: &mut Diags) -> Self {
        let channel = rules.channel(
            raw.channel.as_deref(),
            node.pos_of("channel"),
            node.pos,
            Item::Source,
            diags,
        );
        let format = rules.boolean_format(channel.as_deref());
        let key = source_key(raw, node, rules, diags);
        let mapped = mapped_columns(raw, node, rules, diags);
        let source_tags = raw
            .tags
            .as_ref()
            .map(|list| rules.tag_list(list, node.get("tags"), node.pos, diags));
        Settings {
            channel,
            format,
            key,
            mapped,
            source_tags,
        }
    }
}

/// The source's key field (`key:`, else `defaults.key`), or `None` when there is none or it is
/// wrong (reported).
fn source_key<'a>(
    raw: &'a RawSource,
    node: &Node,
    rules: &'a Rules<'_>,
    diags: &mut Diags,
) -> Option<&'a str> {
    match rules.key_field(raw.key.as_deref(), node.pos_of("key"), diags) {
        KeyField::Field(k) => Some(k),
        KeyField::Reported => None,
        KeyField::Missing => {
            diags.push(node.pos, SheetProblem::NoKeyField);
            None
        }
    }
}

/// `columns:`, field → header, for the fields that are declared; the others (and the marker
/// field, which is never written) are reported at their key.
fn mapped_columns<'a>(
    raw: &'a RawSource,
    node: &Node,
    rules: &Rules<'_>,
    diags: &mut Diags,
) -> BTreeMap<&'a str, &'a str> {
    let columns_node = node.get("columns");
    let mut mapped: BTreeMap<&str, &str> = BTreeMap::new();
    for (field, header) in &raw.columns {
        let key_pos = columns_node
            .and_then(|c| c.entry(field))
            .map_or(node.pos, |e| e.key_pos);
        if Some(field.as_str()) == rules.marker_field {
            diags.push(key_pos, CheckProblem::MarkerWritten(field.clone()));
        } else if rules.declared_field(field, key_pos, diags).is_some() {
            mapped.insert(field, header);
        }
    }
    mapped
}

/// The source's CSV file, added to the config's hash and to the files of `diags`: its number
/// there and its bytes. `None` when it cannot be read or is not UTF-8 text (reported).
fn open_sheet(
    raw: &RawSource,
    node: &Node,
    files: &mut Files<'_>,
    diags: &mut Diags,
) -> Option<(u32, Vec<u8>)> {
    let csv_pos = node.pos_of("csv");
    let (name, bytes) = match open(files.source, &raw.csv, diags.name(csv_pos.file)) {
        Ok(file) => file,
        Err(why) => {
            diags.push(csv_pos, why);
            return None;
        }
    };
    files.hash.add(&raw.csv, &bytes);
    let file = diags.add_file(name, FileKind::Csv);
    if let Err(e) = std::str::from_utf8(&bytes) {
        let offset = e.valid_up_to();
        let (line, cell) = cell_at(&bytes, offset);
        diags.push(
            Pos {
                file,
                line,
                col: cell,
            },
            SheetProblem::NotUtf8 {
                byte: bytes.get(offset).copied().unwrap_or(0),
                offset,
            },
        );
        return None;
    }
    Some((file, bytes))
}

/// Read the header row into `record`; `false` when the file has none (reported).
fn read_header(
    reader: &mut csv::Reader<&[u8]>,
    record: &mut csv::StringRecord,
    file: u32,
    diags: &mut Diags,
) -> bool {
    match reader.read_record(record) {
        Ok(true) => true,
        Ok(false) => {
            diags.push(Pos::start(file), SheetProblem::Empty);
            false
        }
        Err(e) => {
            diags.push(Pos::start(file), SheetProblem::Invalid(e));
            false
        }
    }
}

/// The rows after the header, read one by one through one reused record.
struct Rows<'r, 'b> {
    reader: &'r mut csv::Reader<&'b [u8]>,
    record: &'r mut csv::StringRecord,
    /// The whole file.
    bytes: &'b [u8],
}

impl Rows<'_, '_> {
    /// Append the contact of every row to `out`; a row with problems is reported instead. A
    /// quote never closed, or a row the reader refuses, ends the reading.
    fn read(
        &mut self,
        row: &Row<'_>,
        sheet: &Sheet<'_>,
        identities: &mut Identities,
        diags: &mut Diags,
        out: &mut Vec<DesiredContact>,
    ) {
        loop {
            match self.reader.read_record(self.record) {
                Ok(true) => {
                    if let Some((pos, problem)) = self.unclosed_quote(row.file) {
                        diags.push(pos, problem);
                        break;
                    }
                    let line = line_of(self.record, self.bytes);
                    if let Some(c) = row.contact(self.record, line, sheet, identities, diags) {
                        out.push(c);
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    // The text is UTF-8 and rows may be ragged: nothing the reader can refuse is
                    // left, but if it does, it is reported, not dropped.
                    let line = e.position().map_or(1, |p| clamp(p.line()));
                    diags.push(
                        Pos {
                            file: row.file,
                            line,
                            col: 1,
                        },
                        SheetProblem::Invalid(e),
                    );
                    break;
                }
            }
        }
    }

    /// A quote never closed runs to the end of the file: the reader gives the rest of the file
    /// as one cell of the last row it read. Where that cell is and the problem, not what the
    /// row then lacks; `None` for a row that is not that.
    fn unclosed_quote(&self, file: u32) -> Option<(Pos, SheetProblem)> {
        let at_end = usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX)
            >= self.bytes.len();
        if !at_end {
            return None;
        }
        let (line, cell) = unclosed_quote(self.bytes)?;
        let lines = self
            .record
            .get(cell.saturating_sub(1) as usize)
            .map_or(1, |c| c.lines().count());
        Some((
            Pos {
                file,
                line,
                col: cell,
            },
            SheetProblem::UnclosedQuote(lines),
        ))
    }
}

/// A source being read: what the header and every row are checked against.
struct Sheet<'a> {
    raw: &'a RawSource,
    rules: &'a Rules<'a>,
    /// `columns:`, the fields that are declared: field → header.
    mapped: &'a BTreeMap<&'a str, &'a str>,
    file: u32,
    /// The file as shown in messages (and held by every row's position).
    name: &'a Arc<str>,
}

impl<'a> Sheet<'a> {
    /// What each column is for; a column that is none of a field's, the tags' or ignored is
    /// reported at its header cell.
    fn roles(&self, header: &'a [String], line: u32, diags: &mut Diags) -> Vec<Role<'a>> {
        let mut first_at: HashMap<&str, usize> = HashMap::new();
        let mut roles = Vec::with_capacity(header.len());
        for (j, h) in header.iter().enumerate() {
            let pos = Pos {
                file: self.file,
                line,
                col: clamp(j as u64 + 1),
            };
            let h = h.as_str();
            if self.raw.ignore_columns.iter().any(|i| i == h) {
                roles.push(Role::Skip);
                continue;
            }
            if let Some(first) = first_at.insert(h, j) {
                diags.push(
                    pos,
                    SheetProblem::ColumnTwice {
                        column: h.to_string(),
                        first: first + 1,
                    },
                );
                roles.push(Role::Skip);
                continue;
            }
            if self.raw.tags_column.as_deref() == Some(h) {
                roles.push(Role::Tags);
                continue;
            }
            // the fields mapped to this column, and the field of its name unless that one is
            // mapped elsewhere
            let mut fields: Vec<(&str, Option<FieldType>)> = self
                .mapped
                .iter()
                .filter(|(_, header)| **header == h)
                .map(|(field, _)| (*field, self.rules.fields.get(*field).copied().flatten()))
                .collect();
            let remapped = self.mapped.get(h).filter(|m| **m != h);
            if let (Some((name, ty)), None) = (self.rules.fields.get_key_value(h), remapped)
                && Some(h) != self.rules.marker_field
                && !fields.iter().any(|(f, _)| *f == h)
            {
                fields.push((name.as_str(), *ty));
            }
            if !fields.is_empty() {
                roles.push(Role::Fields(fields));
                continue;
            }
            if let Some(problem) = self.unread_column(h, j, remapped) {
                diags.push(pos, problem);
            }
            roles.push(Role::Skip);
        }
        roles
    }

    /// Why column `j`, named `h`, is read as no field, the tags or ignored (`remapped`: the
    /// column its field reads instead); `None` when the fields may be misspelt, as then no
    /// column is a declared field and the misspelt key is reported instead.
    fn unread_column(&self, h: &str, j: usize, remapped: Option<&&str>) -> Option<Problem> {
        Some(if let Some(m) = remapped {
            SheetProblem::Remapped {
                column: h.to_string(),
                read: m.to_string(),
            }
            .into()
        } else if Some(h) == self.rules.marker_field {
            CheckProblem::MarkerWritten(h.to_string()).into()
        } else if h.is_empty() {
            SheetProblem::UnnamedColumn(j + 1).into()
        } else if self.rules.fields_known() {
            SheetProblem::UnknownColumn(h.to_string()).into()
        } else {
            return None;
        })
    }

    /// Columns the source names that the header lacks, reported where the source names them.
    fn missing_columns(&self, header: &[String], node: &Node, diags: &mut Diags) {
        let has = |h: &str| header.iter().any(|c| c == h);
        let columns = node.get("columns");
        for (field, h) in self.mapped {
            if !has(h) {
                let pos = columns
                    .and_then(|c| c.get(field))
                    .map_or(node.pos, |n| n.pos);
                diags.push(
                    pos,
                    SheetProblem::MappedColumnMissing {
                        column: h.to_string(),
                        field: field.to_string(),
                        file: Arc::clone(self.name),
                    },
                );
            }
        }
        if let Some(t) = &self.raw.tags_column
            && !has(t)
        {
            let pos = node.pos_of("tags_column");
            diags.push(
                pos,
                SheetProblem::TagsColumnMissing {
                    column: t.clone(),
                    file: Arc::clone(self.name),
                },
            );
        }
    }

    /// The key field and the index of its column; `None` when the source has no key field
    /// (reported already) or the header no column for it (reported here, unless it is a mapped
    /// column, reported missing already).
    fn key_column(
        &self,
        key: Option<&'a str>,
        roles: &[Role<'a>],
        node: &Node,
        diags: &mut Diags,
    ) -> Option<(&'a str, usize)> {
        let k = key?;
        let col = roles
            .iter()
            .position(|r| matches!(r, Role::Fields(f) if f.iter().any(|(n, _)| *n == k)));
        // A mapped column that is missing is reported already.
        if col.is_none() && !self.mapped.contains_key(k) {
            let pos = node.pos_of(if self.raw.key.is_some() { "key" } else { "csv" });
            diags.push(
                pos,
                SheetProblem::KeyColumnMissing {
                    key: k.to_string(),
                    file: Arc::clone(self.name),
                },
            );
        }
        Some((k, col?))
    }
}

/// What every row of one sheet is turned into a contact with.
struct Row<'a> {
    channel: Option<&'a str>,
    format: crate::model::BooleanFormat,
    /// The key field and the index of its column.
    key_col: Option<(&'a str, usize)>,
    source_tags: Option<&'a BTreeSet<String>>,
    /// The source has `tags_column` or `tags`: rows hold exactly their tags.
    tags_wanted: bool,
    clear_empty: bool,
    header: &'a [String],
    roles: &'a [Role<'a>],
    file: u32,
}

/// A row's cells, read: the fields and tags it sets.
struct Cells {
    fields: Fields,
    /// The row's tags; `None` when the source says nothing of tags.
    tags: Option<BTreeSet<String>>,
    /// The key field's cell holds a value of the wrong type (reported).
    key_bad: bool,
}

impl Row<'_> {
    /// The contact of `record`, or `None` when it has a problem (reported) or is blank.
    fn contact(
        &self,
        record: &csv::StringRecord,
        line: u32,
        sheet: &Sheet<'_>,
        identities: &mut Identities,
        diags: &mut Diags,
    ) -> Option<DesiredContact> {
        // A row of empty cells (what spreadsheets export for blank rows) is nothing, like an
        // empty line.
        if record.iter().all(str::is_empty) {
            return None;
        }
        let before = diags.len();
        if let Some((j, ragged)) = self.ragged(record) {
            diags.push(self.pos(line, j), SheetProblem::Ragged(ragged));
            return None;
        }
        let cells = self.cells(record, line, sheet.rules, diags);
        let identity = self.identity(&cells, line, diags)?;
        let channel = self.channel?;
        identities.claim(channel, &identity, self.pos(line, 0), sheet.rules, diags);
        if diags.len() > before {
            return None;
        }
        let Cells {
            mut fields, tags, ..
        } = cells;
        fields.shrink_to_fit();
        Some(DesiredContact {
            channel: channel.to_string(),
            identity,
            fields,
            tags,
            source: SourceLoc {
                file: Arc::clone(sheet.name),
                line: line as usize,
                col: 1,
            },
        })
    }

    /// The position of cell `j` (0-based) of the row on `line`.
    fn pos(&self, line: u32, j: usize) -> Pos {
        Pos {
            file: self.file,
            line,
            col: clamp(j as u64 + 1),
        }
    }

    /// When `record` has not as many cells as the header has columns: the cell (0-based) where
    /// it goes wrong, and how.
    fn ragged(&self, record: &csv::StringRecord) -> Option<(usize, Ragged)> {
        let (n, h) = (record.len(), self.header.len());
        if n == h {
            return None;
        }
        let ragged = Ragged {
            cells: n,
            columns: h,
            missing: self.header.get(n..).unwrap_or_default().to_vec(),
        };
        Some((n.min(h), ragged))
    }

    /// The fields and tags that the cells of `record` (on `line`) set; what is wrong in a cell
    /// is reported there.
    fn cells(
        &self,
        record: &csv::StringRecord,
        line: u32,
        rules: &Rules<'_>,
        diags: &mut Diags,
    ) -> Cells {
        let mut cells = Cells {
            fields: Fields::new(),
            tags: self
                .tags_wanted
                .then(|| self.source_tags.cloned().unwrap_or_default()),
            key_bad: false,
        };
        for (j, (cell, role)) in record.iter().zip(self.roles).enumerate() {
            match role {
                Role::Skip => {}
                Role::Fields(list) => {
                    for (name, ty) in list {
                        self.field_cell(name, *ty, cell, self.pos(line, j), &mut cells, diags);
                    }
                }
                Role::Tags => tag_cell(cell, self.pos(line, j), rules, cells.tags.as_mut(), diags),
            }
        }
        cells
    }

    /// Field `name` (of type `ty`, `None` when that is invalid) set in `cells` from `cell`, at
    /// `pos`: an empty cell clears the field or leaves it out, as the source's `empty:` says; a
    /// value of the wrong type is reported.
    fn field_cell(
        &self,
        name: &str,
        ty: Option<FieldType>,
        cell: &str,
        pos: Pos,
        cells: &mut Cells,
        diags: &mut Diags,
    ) {
        if cell.is_empty() {
            if self.clear_empty {
                cells.fields.insert(name, None);
            }
            return;
        }
        let value = match ty {
            Some(ty) => match wire_value(ty, cell, self.format) {
                Ok(v) => v,
                Err(why) => {
                    diags.push(pos, type_mismatch(name, ty, why));
                    cells.key_bad |= self.key_col.is_some_and(|(k, _)| k == name);
                    return;
                }
            },
            None => CompactString::from(cell),
        };
        cells.fields.insert(name, Some(value));
    }

    /// The row's identity, its key field's value; `None` when it has none (reported, unless its
    /// cell was reported already) or the source has no key column.
    fn identity(&self, cells: &Cells, line: u32, diags: &mut Diags) -> Option<Identity> {
        let (key, key_col) = self.key_col?;
        match cells.fields.get(key) {
            Some(Some(value)) => Some(Identity::Key {
                field: key.to_string(),
                value: value.to_string(),
            }),
            _ => {
                if !cells.key_bad {
                    diags.push(
                        self.pos(line, key_col),
                        SheetProblem::NoIdentity {
                            key: key.to_string(),
                            column: self.header[key_col].clone(),
                        },
                    );
                }
                None
            }
        }
    }
}

/// The tags of a tags cell (`;` between them) added to `tags`; one that is not declared, or
/// holds a control character, is reported at `pos`.
fn tag_cell(
    cell: &str,
    pos: Pos,
    rules: &Rules<'_>,
    mut tags: Option<&mut BTreeSet<String>>,
    diags: &mut Diags,
) {
    for tag in cell.split(';').map(str::trim).filter(|t| !t.is_empty()) {
        rules.check_tag(tag, pos, diags);
        if let Some(tags) = tags.as_deref_mut() {
            tags.insert(tag.to_string());
        }
    }
}

/// The line `record` (read from `bytes`) starts on. The csv crate's `Position` of a record is
/// where the reader stood when the previous record ended: before the `\n` of a `\r\n` and
/// before blank lines, so for a CRLF file it is a line short on every row. It is moved past
/// those line breaks here, to the record's first byte.
fn line_of(record: &csv::StringRecord, bytes: &[u8]) -> u32 {
    let Some(pos) = record.position() else {
        return 1;
    };
    let from = usize::try_from(pos.byte()).unwrap_or(usize::MAX);
    let breaks = bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .filter(|b| **b == b'\n')
        .count();
    clamp(pos.line().saturating_add(breaks as u64))
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

/// The CSV file `csv` names, relative to the YAML file `yaml` (as shown in messages): its name
/// as shown in messages, and its bytes. `Err` says why it cannot be read.
///
/// The file must be in the YAML file's directory or below it, symbolic links resolved: a plan of
/// a pull request runs in CI with tokens in its environment, and a config must not make it read
/// `/proc/self/environ` or a key file and print them in its messages.
fn open(files: &dyn FileSource, csv: &str, yaml: &str) -> Result<(String, Vec<u8>), SheetProblem> {
    let relative = Path::new(csv);
    if relative
        .components()
        .any(|c| matches!(c, Component::RootDir | Component::Prefix(_)))
    {
        return Err(SheetProblem::AbsolutePath(csv.to_string()));
    }
    let dir = Path::new(yaml).parent().unwrap_or(Path::new(""));
    let path = dir.join(relative);
    let name = path.display().to_string();
    let cannot_read = |error| SheetProblem::CannotRead {
        name: name.clone(),
        error,
    };
    let entry = files.entry(&path).map_err(cannot_read)?;
    if source::inside(files, dir, &path) != Some(true) {
        return Err(SheetProblem::Outside(name));
    }
    let Entry::File { len } = entry else {
        return Err(SheetProblem::NotAFile(name));
    };
    if len > MAX_FILE_BYTES {
        return Err(SheetProblem::TooLarge(name));
    }
    let bytes = files.read(&path).map_err(cannot_read)?;
    Ok((name, bytes))
}

/// Walk CSV text as the csv crate reads it (a quote opens a quoted cell only at the cell's
/// start, `""` inside quotes is a quote, rows end at `\n`, `\r\n` or `\r` outside quotes, lines
/// with nothing on them hold no record), calling `f(offset, record_line, cell)` at the start of
/// every cell (`cell` is 1-based) and `f(offset, record_line, None)` where each record ends.
/// Line numbers count `\n`, as the csv crate's do. Returns whether the text ends inside a
/// quoted cell (a quote never closed), unless `f` stopped the walk first.
fn walk(text: &[u8], mut f: impl FnMut(usize, u32, Option<u32>) -> ControlFlow<()>) -> bool {
    let mut i = if text.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut line: u32 = 1;
    let mut in_record = false;
    let mut record_line = 1;
    let mut cell = 0;
    let mut quoted = false;
    let mut cell_start = false;
    macro_rules! emit {
        ($offset:expr, $cell:expr) => {
            if f($offset, record_line, $cell).is_break() {
                return false;
            }
        };
    }
    while let Some(&b) = text.get(i) {
        if !in_record {
            if b == b'\n' {
                line = line.saturating_add(1);
                i += 1;
                continue;
            }
            if b == b'\r' {
                i += 1;
                continue;
            }
            in_record = true;
            record_line = line;
            cell = 1;
            quoted = false;
            cell_start = true;
            emit!(i, Some(1));
        }
        if quoted {
            if b == b'"' {
                if text.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                quoted = false;
            } else if b == b'\n' {
                line = line.saturating_add(1);
            }
            i += 1;
            continue;
        }
        match b {
            b'"' if cell_start => {
                quoted = true;
                cell_start = false;
            }
            b',' => {
                cell += 1;
                cell_start = true;
                emit!(i + 1, Some(cell));
            }
            b'\n' | b'\r' => {
                emit!(i, None);
                in_record = false;
                continue;
            }
            _ => cell_start = false,
        }
        i += 1;
    }
    if in_record {
        emit!(text.len(), None);
    }
    in_record && quoted
}

/// One record of a CSV text: the line it starts on (as positions of the loader count it) and
/// the bytes of each of its cells (quotes included; separators not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvRecord {
    /// The line the record starts on (the header is line 1).
    pub line: u32,
    /// Each cell's byte range, in order.
    pub cells: Vec<std::ops::Range<usize>>,
}

/// Every record of `text`, read as the loader reads the sheet (`walk`), with its cells' bytes:
/// what `adopt` edits a cell by.
pub(crate) fn csv_records(text: &[u8]) -> Vec<CsvRecord> {
    let mut out: Vec<CsvRecord> = Vec::new();
    let mut open: Option<(u32, Vec<usize>)> = None;
    walk(text, |at, line, cell| {
        match (cell, &mut open) {
            (Some(1), _) => open = Some((line, vec![at])),
            (Some(_), Some((_, starts))) => starts.push(at),
            (None, Some(_)) => {
                if let Some((line, starts)) = open.take() {
                    let ends = starts.iter().skip(1).map(|s| s - 1).chain([at]);
                    let cells = starts.iter().zip(ends).map(|(s, e)| *s..e).collect();
                    out.push(CsvRecord { line, cells });
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    out
}

/// The record line and cell (1-based) of a cell whose opening quote is never closed: it runs to
/// the end of `text`.
fn unclosed_quote(text: &[u8]) -> Option<(u32, u32)> {
    let mut last = (1, 1);
    let open = walk(text, |_, line, cell| {
        if let Some(cell) = cell {
            last = (line, cell);
        }
        ControlFlow::Continue(())
    });
    open.then_some(last)
}

/// The record line and cell of byte `offset` of `text`.
fn cell_at(text: &[u8], offset: usize) -> (u32, u32) {
    let mut found = (1, 1);
    walk(text, |at, line, cell| {
        if at > offset {
            return ControlFlow::Break(());
        }
        if let Some(cell) = cell {
            found = (line, cell);
        }
        ControlFlow::Continue(())
    });
    found
}

/// The byte offset in `text` of cell `cell` of the record that starts on line `line`; where
/// that record ends when it has fewer cells. `None` when no record starts on that line.
#[cfg(test)]
fn cell_offset(text: &[u8], line: usize, cell: usize) -> Option<usize> {
    let cells = cell_offsets(text, &BTreeSet::from([line]));
    let record = cells.get(&line)?;
    cell.checked_sub(1)
        .and_then(|i| record.get(i))
        .or(record.last())
        .copied()
}

/// For each record starting on one of `lines`, the byte offsets of its cells in order, then the
/// offset where it ends: what [`cell_offset`] answers, for every cell of those records in one
/// walk of `text` (an excerpt per cell of a 100,000-column row must not walk the file each).
pub(super) fn cell_offsets(text: &[u8], lines: &BTreeSet<usize>) -> HashMap<usize, Vec<usize>> {
    let mut found: HashMap<usize, Vec<usize>> = HashMap::new();
    let Some(&last) = lines.last() else {
        return found;
    };
    walk(text, |at, record_line, _| {
        let line = record_line as usize;
        if line > last {
            return ControlFlow::Break(());
        }
        if lines.contains(&line) {
            found.entry(line).or_default().push(at);
        }
        ControlFlow::Continue(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::Fs;
    use std::fs;

    #[test]
    fn records_give_each_cells_bytes() {
        let text = "a,b,c\n\"x,1\",\"multi\nline\",z\r\n\nlast,,\n";
        let records = csv_records(text.as_bytes());
        let cells =
            |i: usize| -> Vec<&str> { records[i].cells.iter().map(|r| &text[r.clone()]).collect() };
        assert_eq!(records.len(), 3);
        assert_eq!(
            (records[1].line, cells(1)),
            (2, vec!["\"x,1\"", "\"multi\nline\"", "z"])
        );
        assert_eq!((records[2].line, cells(2)), (5, vec!["last", "", ""]));
        assert_eq!(cells(0), ["a", "b", "c"]);
    }

    #[test]
    fn cells_are_found_by_record_line_and_index() {
        let text = b"a,b,c\n\"x,1\",\"multi\nline\",z\r\n\nlast,,\n";
        assert_eq!(cell_offset(text, 1, 1), Some(0));
        assert_eq!(cell_offset(text, 1, 3), Some(4));
        assert_eq!(cell_offset(text, 2, 2), Some(12), "past the quoted comma");
        assert_eq!(
            cell_offset(text, 2, 3),
            Some(25),
            "past the quoted line break"
        );
        assert_eq!(cell_offset(text, 3, 1), None, "line 3 is inside a record");
        assert_eq!(cell_offset(text, 5, 3), Some(35), "an empty last cell");
        assert_eq!(
            cell_offset(text, 5, 9),
            Some(35),
            "a missing cell: the record's end"
        );
        assert_eq!(cell_offset(text, 9, 1), None);
    }

    #[test]
    fn a_quote_never_closed_is_found_at_its_cell() {
        assert_eq!(unclosed_quote(b"a,b\n1,\"x\n2,y\n"), Some((2, 2)));
        assert_eq!(unclosed_quote(b"a,b\n\"1,x\r\n2,y"), Some((2, 1)));
        // closed, escaped, or a quote inside an unquoted cell: nothing open
        assert_eq!(unclosed_quote(b"a,b\n1,\"x\ny\"\n"), None);
        assert_eq!(unclosed_quote(b"a,b\n1,\"x\"\"\"\n"), None);
        assert_eq!(unclosed_quote(b"a,b\n1,x\"y\n"), None);
    }

    #[test]
    fn quotes_inside_an_unquoted_cell_are_text() {
        let text = b"a\"b,c\n\"q\"\"x,y\",z\n";
        assert_eq!(cell_offset(text, 1, 2), Some(4));
        assert_eq!(cell_offset(text, 2, 2), Some(15));
    }

    #[test]
    fn a_byte_is_placed_in_its_record_and_cell() {
        let text = b"\xEF\xBB\xBFh1,h2\nok,\"two\nlines\xFF\"\n";
        let bad = text.iter().position(|b| *b == 0xFF).unwrap();
        assert_eq!(cell_at(text, bad), (2, 2));
        assert_eq!(cell_at(text, 3), (1, 1), "after the BOM");
        assert_eq!(cell_at(b"a\n\xFF", 2), (2, 1), "the first byte of a record");
    }

    /// The line of every record, as read with the csv crate.
    fn record_lines(text: &str) -> Vec<u32> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut lines = Vec::new();
        while reader.read_record(&mut record).unwrap() {
            lines.push(line_of(&record, text.as_bytes()));
        }
        lines
    }

    #[test]
    fn records_are_at_the_line_they_start_on_whatever_the_line_breaks() {
        assert_eq!(record_lines("h\na\nb\n"), [1, 2, 3]);
        assert_eq!(record_lines("h\r\na\r\nb\r\n"), [1, 2, 3], "CRLF");
        assert_eq!(record_lines("\n\nh\n\na\n\n\nb"), [3, 5, 8], "blank lines");
        assert_eq!(
            record_lines("h\n\"a\r\nb\"\r\nc\n"),
            [1, 2, 4],
            "a quoted break"
        );
        assert_eq!(record_lines("\u{feff}h\r\na"), [1, 2], "BOM");
    }

    #[test]
    fn the_walk_agrees_with_the_csv_crate_on_record_lines() {
        let text = "h,i\n\n\"a\nb\",1\r\nc,\"2\"\"\"\n\n\nd,3";
        let mut walk_lines = Vec::new();
        walk(text.as_bytes(), |_, line, cell| {
            if cell == Some(1) {
                walk_lines.push(line);
            }
            ControlFlow::Continue(())
        });
        assert_eq!(record_lines(text), [1, 3, 5, 8]);
        assert_eq!(walk_lines, record_lines(text));
    }

    #[test]
    fn paths_must_stay_in_the_yaml_files_directory() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("conf");
        fs::create_dir_all(conf.join("lists")).unwrap();
        fs::write(conf.join("lists/a.csv"), "email\n").unwrap();
        fs::write(dir.path().join("outside.csv"), "email\n").unwrap();
        let yaml = conf.join("c.yaml").display().to_string();
        let (name, bytes) = open(&Fs, "lists/a.csv", &yaml).unwrap();
        assert!(name.ends_with("conf/lists/a.csv"), "{name}");
        assert_eq!(bytes, b"email\n");
        let err = open(&Fs, "../outside.csv", &yaml).unwrap_err().to_string();
        assert!(err.contains("is outside the directory"), "{err}");
        let err = open(&Fs, "/etc/hostname", &yaml).unwrap_err().to_string();
        assert!(err.contains("absolute path"), "{err}");
        let err = open(&Fs, "lists/none.csv", &yaml).unwrap_err().to_string();
        assert!(err.starts_with("cannot read the CSV file"), "{err}");
        let err = open(&Fs, "lists", &yaml).unwrap_err().to_string();
        assert!(err.ends_with("is not a file"), "{err}");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("outside.csv"), conf.join("link.csv"))
                .unwrap();
            let err = open(&Fs, "link.csv", &yaml).unwrap_err().to_string();
            assert!(err.contains("is outside the directory"), "{err}");
        }
    }
}
