//! The one error type: bad input, located by source name and 1-based line number.

/// A history the checker cannot judge. Always names where and what was expected; never a
/// panic. `line` is 0 for errors that concern the input as a whole (for example an I/O
/// failure before any line was read).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The line at `line` is not what format v1 allows.
    #[error("{source_name}:{line}: {message}")]
    Invalid {
        /// The name the caller gave the input (usually the file name).
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Reading the input failed.
    #[error("{source_name}:{line}: cannot read: {error}")]
    Io {
        /// The name the caller gave the input.
        source_name: String,
        /// The line being read when the error happened (1-based).
        line: u64,
        /// The underlying error.
        #[source]
        error: std::io::Error,
    },
}

impl CheckError {
    /// The 1-based line the error concerns.
    pub fn line(&self) -> u64 {
        match self {
            CheckError::Invalid { line, .. } | CheckError::Io { line, .. } => *line,
        }
    }
}
