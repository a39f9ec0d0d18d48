//! A client's photo and attached files: the bytes go to the blob store (queued for the
//! server), the record keeps a [`FileRef`] (hash, size, media type, name).

use std::path::Path;

use super::{Book, Edited};
use crate::blob::{self, BlobHash, BlobMeta, DEFAULT_MAX_BYTES};
use crate::error::Result;
use crate::id::DocumentId;
use crate::model::{new_key, FileRef};

impl Book {
    /// Stores a file as a blob (once, whatever else refers to it) and queues it for the
    /// server; returns the reference to put in a record.
    pub fn add_file(&self, path: &Path) -> Result<FileRef> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (hash, meta) = blob::add(
            self.store.as_ref(),
            || std::fs::File::open(path),
            DEFAULT_MAX_BYTES,
            true,
        )?;
        Ok(file_ref(hash, meta, &name))
    }

    /// [`Book::add_file`] for bytes in memory (a camera's photo), named `name`.
    pub fn add_bytes(&self, bytes: &[u8], name: &str) -> Result<FileRef> {
        let (hash, meta) = blob::add(
            self.store.as_ref(),
            || Ok(std::io::Cursor::new(bytes)),
            DEFAULT_MAX_BYTES,
            true,
        )?;
        Ok(file_ref(hash, meta, name))
    }

    /// Makes `file` the client's photo.
    pub fn set_photo(&self, client: &DocumentId, file: FileRef) -> Result<Edited> {
        self.edit_client(client, |c| c.photo = Some(file))
    }

    /// Attaches `file` to the client (contracts, saved e-mails, any document).
    pub fn attach(&self, client: &DocumentId, file: FileRef) -> Result<Edited> {
        self.edit_client(client, |c| {
            c.files.insert(new_key(), file);
        })
    }

    /// What the store holds of a blob, if all of it is here.
    pub fn blob(&self, hash: &BlobHash) -> Result<Option<BlobMeta>> {
        Ok(blob::meta(self.store.as_ref(), hash)?)
    }

    /// Writes a blob held here to `out`.
    pub fn read_blob(&self, hash: &BlobHash, out: &mut impl std::io::Write) -> Result<BlobMeta> {
        Ok(blob::read_to(self.store.as_ref(), hash, out)?)
    }

    /// Blobs added here that the server does not have yet.
    pub fn queued_uploads(&self) -> Result<Vec<BlobHash>> {
        Ok(blob::queued(self.store.as_ref())?)
    }
}

fn file_ref(hash: BlobHash, meta: BlobMeta, name: &str) -> FileRef {
    FileRef {
        hash: hash.to_string(),
        size: meta.size,
        media_type: meta.media_type,
        name: clean_name(name),
    }
}

/// A file name as shown to people and used when saving the file again: its last path part,
/// without control characters, at most 200 characters; `file` if nothing is left.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "file".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\marie\\contrat.pdf"), "contrat.pdf");
        assert_eq!(clean_name("photo\n\u{0}.jpg"), "photo.jpg");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(""), "file");
    }
}
