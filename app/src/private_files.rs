//! Files and directories for this user alone: the outbox, the development secret, the
//! SQLite database and its directory.
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

/// Makes `file`, empty and this user's alone (0600), unless it is there already; one
/// that is there is left as it is.
pub fn create_private(file: &Path) -> std::io::Result<()> {
    match private_file().create_new(true).open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes the group's and everyone else's permissions off `file` when it has any:
/// `Some` with the mode it had then, `None` when there was nothing to take (or no file).
pub fn make_private(file: &Path) -> std::io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(file) {
            Ok(metadata) => metadata.permissions().mode() & 0o777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if mode & 0o077 == 0 {
            return Ok(None);
        }
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o700))?;
        Ok(Some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(None)
    }
}

/// Options that open a file for writing and, when they make it, make it 0600.
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}
