//! Files and directories for this user alone: the outbox and the development secret.
//!
//! Each is made with its permissions from the start (`mode` at `open`/`mkdir`), never
//! made open and narrowed after: in between, another user could open it, and keep what
//! they opened.

use std::{fs::OpenOptions, io::Write, path::Path};

/// Makes `dir` (and its missing parents) readable by this user alone (0700). A directory
/// that is there already keeps the permissions its owner gave it.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `contents` to `file`, which a new file gets as this user's alone (0600).
pub fn write_private(file: &Path, contents: &str) -> std::io::Result<()> {
    private_file()
        .create(true)
        .truncate(true)
        .open(file)?
        .write_all(contents.as_bytes())
}

/// Options that open a file for writing and, when they make it, make it 0600.
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}
