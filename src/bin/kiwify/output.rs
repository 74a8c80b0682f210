//! What the commands print, and how they fail.

use std::fmt;
use std::io::{self, BufWriter, Write};

use serde::Serialize;

/// Why a command failed: one line for stderr, and exit status 1.
#[derive(Debug)]
pub struct Failure {
    message: String,
    /// Stdout was closed by its reader (`kiwify … | head`): not worth a message.
    broken_pipe: bool,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            broken_pipe: false,
        }
    }

    /// This failure with `context` in front of its message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the message holds.
        f.write_str(&self.message.replace(['\n', '\r'], " "))
    }
}

impl From<kiwify::Error> for Failure {
    fn from(error: kiwify::Error) -> Self {
        Failure::new(error.to_string())
    }
}

/// What an operation of `kiwify::prelude` returns on failure, read through `kiwify::Error`.
impl From<kiwify::generated::Error<kiwify::generated::types::ApiError>> for Failure {
    fn from(error: kiwify::generated::Error<kiwify::generated::types::ApiError>) -> Self {
        Failure::from(kiwify::Error::from(error))
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure {
            broken_pipe: error.kind() == io::ErrorKind::BrokenPipe,
            message: format!("cannot write the output: {error}"),
        }
    }
}

impl From<serde_json::Error> for Failure {
    fn from(error: serde_json::Error) -> Self {
        match error.io_error_kind() {
            Some(kind) => Failure::from(io::Error::from(kind)),
            None => Failure::new(format!("cannot write JSON: {error}")),
        }
    }
}

pub type Outcome = Result<(), Failure>;

/// Prints one JSON document (indented) on stdout.
pub fn document(value: &impl Serialize) -> Outcome {
    let mut out = BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// Writes JSON Lines on stdout: one compact document per line.
pub struct Lines {
    out: BufWriter<io::Stdout>,
}

impl Lines {
    pub fn stdout() -> Self {
        Lines {
            out: BufWriter::new(io::stdout()),
        }
    }

    pub fn write(&mut self, value: &impl Serialize) -> Outcome {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }

    /// Flushes what is buffered.
    pub fn finish(mut self) -> Outcome {
        self.out.flush()?;
        Ok(())
    }
}
