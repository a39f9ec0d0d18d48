//! Unfinished uploads and their caps: per device and per organisation, how many there may
//! be and how many bytes they may declare (an upload counts its declared total from its first
//! piece), and how long one may stay untouched before it is removed. Uploads found on disk at
//! start count for their organisation (their device is not known).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

/// How many unfinished uploads, and how many declared bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub count: usize,
    pub bytes: u64,
}

/// The caps on unfinished uploads.
#[derive(Debug, Clone)]
pub struct UploadCaps {
    pub device: Cap,
    pub org: Cap,
    /// An upload untouched this long is removed.
    pub expiry: Duration,
}

impl Default for UploadCaps {
    fn default() -> Self {
        Self {
            device: Cap {
                count: 16,
                bytes: 256 << 20,
            },
            org: Cap {
                count: 256,
                bytes: 2 << 30,
            },
            expiry: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Debug)]
struct Upload {
    org: String,
    /// `None`: found on disk at start.
    device: Option<String>,
    total: u64,
    touched: Instant,
}

/// The unfinished uploads, by partial file.
#[derive(Debug)]
pub struct Unfinished {
    caps: UploadCaps,
    uploads: Mutex<HashMap<PathBuf, Upload>>,
}

/// Why a new upload may not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Full {
    pub status: StatusCode,
    pub message: String,
}

impl Unfinished {
    /// The caps, and the partial files already there (`(organisation, file)`).
    pub fn new(caps: UploadCaps, found: impl IntoIterator<Item = (String, PathBuf)>) -> Self {
        let now = Instant::now();
        let uploads = found
            .into_iter()
            .filter_map(|(org, path)| {
                let meta = std::fs::metadata(&path).ok()?;
                let age = meta.modified().ok()?.elapsed().unwrap_or_default();
                let upload = Upload {
                    org,
                    device: None,
                    total: meta.len(),
                    touched: now.checked_sub(age).unwrap_or(now),
                };
                Some((path, upload))
            })
            .collect();
        Self {
            caps,
            uploads: Mutex::new(uploads),
        }
    }

    /// Removes the uploads untouched longer than the expiry, their files too; returns how
    /// many went.
    pub fn expire(&self) -> usize {
        let mut uploads = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        let before = uploads.len();
        uploads.retain(|path, u| {
            let keep = u.touched.elapsed() < self.caps.expiry;
            if !keep {
                let _ = std::fs::remove_file(path);
                tracing::info!(file = %path.display(), org = %u.org, "unfinished upload expired");
            }
            keep
        });
        before - uploads.len()
    }

    /// Notes a piece of the upload at `path` (declaring `total` bytes) from `device` of `org`:
    /// an upload under way goes on; a new one starts only within the caps.
    pub fn piece(&self, path: &Path, org: &str, device: &str, total: u64) -> Result<(), Full> {
        self.expire();
        let mut uploads = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(u) = uploads.get_mut(path) {
            u.touched = Instant::now();
            u.total = total;
            return Ok(());
        }
        let (device_cap, org_cap) = (self.caps.device, self.caps.org);
        let mine = |u: &Upload| u.org == org && u.device.as_deref() == Some(device);
        if let Some(held) = past(&uploads, device_cap, total, mine) {
            return Err(full(
                StatusCode::TOO_MANY_REQUESTS,
                "this device has",
                device_cap,
                held,
            ));
        }
        if let Some(held) = past(&uploads, org_cap, total, |u| u.org == org) {
            let status = StatusCode::INSUFFICIENT_STORAGE;
            return Err(full(status, "the organisation has", org_cap, held));
        }
        let upload = Upload {
            org: org.to_string(),
            device: Some(device.to_string()),
            total,
            touched: Instant::now(),
        };
        uploads.insert(path.to_path_buf(), upload);
        Ok(())
    }

    /// The upload at `path` is over (stored, refused or removed).
    pub fn over(&self, path: &Path) {
        let mut uploads = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        uploads.remove(path);
    }
}

/// How many uploads `counts` selects and the bytes they declare, when one more of `total`
/// bytes would go past `cap`.
fn past(
    uploads: &HashMap<PathBuf, Upload>,
    cap: Cap,
    total: u64,
    counts: impl Fn(&Upload) -> bool,
) -> Option<(usize, u64)> {
    let of = uploads.values().filter(|u| counts(u));
    let (n, bytes) = of.fold((0usize, 0u64), |(n, b), u| (n + 1, b + u.total));
    (n >= cap.count || bytes + total > cap.bytes).then_some((n, bytes))
}

fn full(status: StatusCode, who: &str, cap: Cap, (n, bytes): (usize, u64)) -> Full {
    let message = format!(
        "{who} {n} unfinished uploads ({bytes} bytes declared); the limit is {} ({} bytes): finish them or try again later",
        cap.count, cap.bytes
    );
    Full { status, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> UploadCaps {
        UploadCaps {
            device: Cap {
                count: 2,
                bytes: 100,
            },
            org: Cap {
                count: 3,
                bytes: 1000,
            },
            expiry: Duration::from_secs(3600),
        }
    }

    #[test]
    fn new_uploads_stop_at_the_device_cap_then_the_organisation_cap() {
        let u = Unfinished::new(caps(), []);
        let p = |n: u32| PathBuf::from(format!("/nonexistent/partial/{n}"));
        let status = |r: Result<(), Full>| r.err().map(|f| f.status.as_u16());
        assert_eq!(status(u.piece(&p(1), "acme", "a", 10)), None);
        assert_eq!(status(u.piece(&p(2), "acme", "a", 10)), None);
        assert_eq!(status(u.piece(&p(3), "acme", "a", 10)), Some(429));
        // Going on with one under way is always allowed.
        assert_eq!(status(u.piece(&p(1), "acme", "a", 10)), None);
        assert_eq!(status(u.piece(&p(4), "acme", "b", 101)), Some(429));
        assert_eq!(status(u.piece(&p(4), "acme", "b", 10)), None);
        assert_eq!(status(u.piece(&p(5), "acme", "c", 10)), Some(507));
        assert_eq!(status(u.piece(&p(5), "beta", "c", 10)), None);
        u.over(&p(1));
        assert_eq!(status(u.piece(&p(6), "acme", "c", 10)), None);
    }
}
