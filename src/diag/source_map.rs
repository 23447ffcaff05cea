//! Byte offsets to 1-based line and column, per file.
//!
//! Owns nothing but text: it never reads files itself.

use std::ops::Range;

/// One source file as the user wrote it, with its line starts.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown to the user (relative to the repository root where possible).
    pub name: String,
    /// The text, lossily decoded where it was not UTF-8.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self.text[start..offset].chars().count();
        (line + 1, col + 1)
    }

    /// 1-based column of `offset` counted in bytes, as some renderers count.
    pub fn byte_column(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        offset - self.line_starts[line] + 1
    }

    /// Byte span of a 1-based line (without its newline).
    pub fn line_span(&self, line: usize) -> Range<usize> {
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        start..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let f = SourceFile::new("x", "ab\nçd = 1\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // `d` follows a two-byte character: byte 5, column 2
        assert_eq!(f.line_col(5), (2, 2));
        assert_eq!(f.line_col(999), (3, 1));
        // inside a multi-byte character: the character's own column
        assert_eq!(f.line_col(4), (2, 1));
        assert_eq!(f.byte_column(5), 3);
        assert_eq!(f.line_span(2), 3..10);
    }
}
