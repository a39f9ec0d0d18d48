//! A client's photo and attached files: the bytes go to the blob store (queued for the
//! server), the record keeps a [`FileRef`] (hash, size, media type, name).

use std::path::Path;

use super::{Book, Edited};
use crate::blob::{self, thumbnail, BlobHash, BlobMeta, DEFAULT_MAX_BYTES};
use crate::error::Result;
use crate::id::DocumentId;
use crate::model::{new_key, FileRef, Intervention, Signature};
use crate::validate::{FieldError, ValidationErrors};

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
        let thumbnail = self.preview(&meta, || {
            Ok(std::io::BufReader::new(std::fs::File::open(path)?))
        })?;
        Ok(file_ref(hash, meta, &name, thumbnail))
    }

    /// [`Book::add_file`] for bytes in memory (a camera's photo), named `name`.
    pub fn add_bytes(&self, bytes: &[u8], name: &str) -> Result<FileRef> {
        let (hash, meta) = blob::add(
            self.store.as_ref(),
            || Ok(std::io::Cursor::new(bytes)),
            DEFAULT_MAX_BYTES,
            true,
        )?;
        let thumbnail = self.preview(&meta, || Ok(std::io::Cursor::new(bytes)))?;
        Ok(file_ref(hash, meta, name, thumbnail))
    }

    /// Makes and stores (queued for the server) the preview of a photo; `None` for other
    /// kinds, and for an image that does not decode (it is kept all the same).
    fn preview<R: std::io::BufRead + std::io::Seek>(
        &self,
        meta: &BlobMeta,
        open: impl FnOnce() -> std::io::Result<R>,
    ) -> Result<Option<String>> {
        if !thumbnail::can_preview(&meta.media_type) {
            return Ok(None);
        }
        let Some(jpeg) = thumbnail::make(open().map_err(blob::BlobError::Io)?) else {
            tracing::warn!("a photo that does not decode: stored without a preview");
            return Ok(None);
        };
        let (hash, _) = blob::add(
            self.store.as_ref(),
            || Ok(std::io::Cursor::new(&jpeg)),
            DEFAULT_MAX_BYTES,
            true,
        )?;
        Ok(Some(hash.to_string()))
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

    /// The client signs intervention `key`: the signature image (from a signature pad or a
    /// photo) is stored like a photo, and the report's content hash is recorded, so that any
    /// later change shows (see [`Intervention::altered_after_signing`]; this device refuses
    /// such edits, and a change merged from elsewhere is flagged).
    pub fn sign_intervention(
        &self,
        client: &DocumentId,
        key: &str,
        image: &[u8],
        signed_by: &str,
    ) -> Result<Edited> {
        let signed_by = signed_by.trim();
        if signed_by.is_empty() {
            return Err(invalid("signature.signed_by", "say who signed"));
        }
        let current = self.client(client)?;
        let Some(intervention) = current.interventions.get(key) else {
            return Err(invalid(
                &format!("interventions.{key}"),
                "no such intervention on this client",
            ));
        };
        if intervention.signature.is_some() {
            return Err(invalid(
                &format!("interventions.{key}.signature"),
                "already signed",
            ));
        }
        let file = self.add_bytes(image, "signature")?;
        if !file.media_type.starts_with("image/") {
            return Err(invalid(
                "signature.image",
                "a signature is an image (PNG or JPEG)",
            ));
        }
        let signed_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let signed_by = signed_by.to_string();
        self.edit_client(client, |c| {
            if let Some(i) = c.interventions.get_mut(key) {
                i.signature = Some(Signature {
                    image: file,
                    signed_by,
                    signed_at,
                    report_hash: i.content_hash(),
                });
            }
        })
    }

    /// Removes the blobs this device holds that none of its records refers to, that are not
    /// waiting for upload, and that came more than `grace` ago.
    pub fn collect_blobs(&self, grace: std::time::Duration) -> Result<blob::gc::Collected> {
        let mut referenced = std::collections::BTreeSet::new();
        for (id, kind) in self.documents()? {
            if kind == crate::schema::Kind::Client.as_str() {
                referenced.extend(self.client(&id)?.blob_hashes());
            }
        }
        Ok(blob::gc::collect(self.store.as_ref(), &referenced, grace)?)
    }

    /// Queues for upload the blobs in `hashes` that this device holds: a record edited here
    /// that now refers to a blob makes sure the server has it (a blob fetched from the server
    /// may have been collected there since).
    pub(super) fn queue_held(&self, hashes: impl IntoIterator<Item = String>) -> Result<()> {
        let mut writes = Vec::new();
        for hash in hashes {
            let Ok(hash) = hash.parse::<BlobHash>() else {
                continue;
            };
            if blob::meta(self.store.as_ref(), &hash)?.is_some() {
                writes.push(crate::store::Write::Put(
                    blob::upload_key(&hash),
                    Vec::new(),
                ));
            }
        }
        Ok(self.store.apply(writes)?)
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

fn invalid(field: &str, reason: &str) -> crate::Error {
    ValidationErrors(vec![FieldError::new(field, reason)]).into()
}

/// The interventions of `client` signed and changed since; an edit may not add to them.
pub(super) fn altered(client: &crate::model::Client) -> Vec<String> {
    client
        .interventions
        .iter()
        .filter(|(_, i)| Intervention::altered_after_signing(i))
        .map(|(k, _)| k.clone())
        .collect()
}

fn file_ref(hash: BlobHash, meta: BlobMeta, name: &str, thumbnail: Option<String>) -> FileRef {
    FileRef {
        hash: hash.to_string(),
        size: meta.size,
        media_type: meta.media_type,
        name: clean_name(name),
        thumbnail,
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
