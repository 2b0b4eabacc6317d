//! Which column holds what: fields, tags, deck, guid and note type, as Anki maps them.

use super::header::Header;
use csv::StringRecord;
use std::collections::HashSet;

/// The columns of one file, decided once for all its rows. Columns count from 1.
#[derive(Debug)]
pub(super) struct Layout {
    /// Columns that name a note type, deck, tags or guid rather than hold a field.
    meta: HashSet<usize>,
    /// Columns in the file: as many as `#columns:` names, else as the first row has.
    count: usize,
    /// Field → column, when one note type serves the whole file.
    fields: Option<Vec<Option<usize>>>,
    /// The tags column: given, or the first free one after the fields.
    pub tags: Option<usize>,
}

/// The value in `column` of a record; empty where the column or the row has none.
pub(super) fn cell(record: &StringRecord, column: Option<usize>) -> &str {
    column.and_then(|c| record.get(c - 1)).unwrap_or("")
}

impl Layout {
    /// The layout for `header`. `fields` are the field names of the file-wide note type,
    /// if there is one; without one, each row's fields are its other columns in order.
    pub fn new(header: &Header, first_row_len: Option<usize>, fields: Option<&[&str]>) -> Layout {
        let meta: HashSet<usize> = [
            header.notetype_column,
            header.deck_column,
            header.tags_column,
            header.guid_column,
        ]
        .into_iter()
        .flatten()
        .collect();
        let count = if header.columns.is_empty() {
            first_row_len.unwrap_or(0)
        } else {
            header.columns.len()
        };
        let mut layout = Layout {
            meta,
            count,
            fields: None,
            tags: header.tags_column,
        };
        if let Some(names) = fields {
            layout.map_fields(&header.columns, names);
        }
        layout
    }

    /// Field → column: by label when `#columns:` names any (of columns with the same
    /// label, the last free one, as Anki maps them), else the free columns in order; the
    /// first field always gets a column; tags take the next free one.
    fn map_fields(&mut self, labels: &[String], names: &[&str]) {
        let free = |c: &usize| !self.meta.contains(c);
        let mut columns = vec![None; names.len()];
        if labels.iter().all(String::is_empty) {
            let mut free_columns = (1..=self.count).filter(free);
            for slot in columns.iter_mut() {
                *slot = free_columns.next();
            }
        } else {
            for (slot, field) in columns.iter_mut().zip(names) {
                *slot = (1..=labels.len())
                    .rev()
                    .find(|c| labels[c - 1] == *field && free(c));
            }
        }
        if columns.first() == Some(&None) {
            columns[0] = (1..=self.count).find(free);
        }
        if self.tags.is_none() {
            let max = columns.iter().flatten().max().copied().unwrap_or(0);
            self.tags = (max + 1..=self.count).find(free);
        }
        self.fields = Some(columns);
    }

    /// A row's field values, in field order.
    pub fn values<'r>(&self, record: &'r StringRecord) -> Vec<&'r str> {
        match &self.fields {
            Some(columns) => columns.iter().map(|&c| cell(record, c)).collect(),
            None => (1..=record.len())
                .filter(|c| !self.meta.contains(c))
                .map(|c| cell(record, Some(c)))
                .collect(),
        }
    }

    /// The columns of a row, for a note type with `field_count` fields, that hold a
    /// value no field takes: Anki drops those values.
    pub fn dropped(&self, record: &StringRecord, field_count: usize) -> Vec<usize> {
        let filled = |c: &usize| !cell(record, Some(*c)).is_empty();
        match &self.fields {
            Some(columns) => {
                let used = |c: usize| {
                    columns.contains(&Some(c)) || self.meta.contains(&c) || self.tags == Some(c)
                };
                (1..=record.len())
                    .filter(|&c| !used(c))
                    .filter(filled)
                    .collect()
            }
            None => (1..=record.len())
                .filter(|c| !self.meta.contains(c))
                .skip(field_count)
                .filter(filled)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(text: &str) -> Header {
        let mut header = super::super::header::parse(text).header;
        header.split_columns(header.separator.unwrap_or(b','));
        header
    }

    fn record(cells: &[&str]) -> StringRecord {
        StringRecord::from(cells.to_vec())
    }

    const BASIC: &[&str] = &["Front", "Back"];

    #[test]
    fn fields_take_the_free_columns_in_order_then_tags() {
        let layout = Layout::new(&header("#deck column:1\n"), Some(4), Some(BASIC));
        assert_eq!(layout.fields, Some(vec![Some(2), Some(3)]));
        assert_eq!(layout.tags, Some(4));
        let r = record(&["D", "q", "a", "t1 t2"]);
        assert_eq!(layout.values(&r), ["q", "a"]);
        assert!(layout.dropped(&r, 2).is_empty());
    }

    #[test]
    fn labels_map_fields_by_name() {
        let layout = Layout::new(&header("#columns:Back,Tags,Front\n"), Some(1), Some(BASIC));
        assert_eq!(layout.count, 3);
        assert_eq!(layout.fields, Some(vec![Some(3), Some(1)]));
        // Tags are taken after the last field column, not by the label `Tags`.
        assert_eq!(layout.tags, None);
        let r = record(&["a", "t", "q"]);
        assert_eq!(layout.values(&r), ["q", "a"]);
        assert_eq!(layout.dropped(&r, 2), [2]);
        assert!(layout.dropped(&record(&["a", "", "q"]), 2).is_empty());
    }

    #[test]
    fn of_columns_with_one_label_the_last_free_one_is_the_field() {
        let layout = Layout::new(
            &header("#columns:Front,Back,Notes,Back\n"),
            None,
            Some(BASIC),
        );
        assert_eq!(layout.fields, Some(vec![Some(1), Some(4)]));
        assert_eq!(layout.tags, None);
        // The other `Back` is dropped, and said to be.
        assert_eq!(layout.dropped(&record(&["q", "a1", "n", "a2"]), 2), [2, 3]);
        let tags = "#columns:Front,Back,Back\n#tags column:3\n";
        let layout = Layout::new(&header(tags), None, Some(BASIC));
        assert_eq!(layout.fields, Some(vec![Some(1), Some(2)]));
    }

    #[test]
    fn the_first_field_always_gets_a_column() {
        let layout = Layout::new(&header("#columns:x,Back,y\n"), None, Some(BASIC));
        assert_eq!(layout.fields, Some(vec![Some(1), Some(2)]));
        assert_eq!(layout.tags, Some(3));
        let meta = header("#columns:Back,x\n#guid column:2\n#tags column:1\n");
        let layout = Layout::new(&meta, None, Some(BASIC));
        // Column 1 holds tags and column 2 the guid: no field gets a column.
        assert_eq!(layout.fields, Some(vec![None, None]));
    }

    #[test]
    fn without_a_file_wide_note_type_fields_are_the_other_columns() {
        let layout = Layout::new(
            &header("#notetype column:1\n#guid column:3\n"),
            Some(4),
            None,
        );
        assert_eq!(layout.fields, None);
        assert_eq!(layout.tags, None);
        let r = record(&["Basic", "q", "guid", "a", "extra"]);
        assert_eq!(layout.values(&r), ["q", "a", "extra"]);
        assert_eq!(layout.dropped(&r, 2), [5]);
        let r = record(&["Basic", "q", "guid", "a", ""]);
        assert!(layout.dropped(&r, 2).is_empty());
    }

    #[test]
    fn cells_past_the_row_are_empty() {
        let r = record(&["a"]);
        assert_eq!(cell(&r, Some(1)), "a");
        assert_eq!(cell(&r, Some(2)), "");
        assert_eq!(cell(&r, None), "");
    }
}
