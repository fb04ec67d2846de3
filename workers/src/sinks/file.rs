//! `type = "file"`: line protocol or JSON lines appended to a file, fsynced before each
//! acknowledgement, rotated by size (`path` → `path.1` → … → `path.<max_files>`, oldest dropped).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use model::Metric;
use serde::Deserialize;

use super::{Format, Sink, SinkError, SinkFuture};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub name: String,
    pub path: PathBuf,
    #[serde(default)]
    pub format: Format,
    /// Rotate when the file would grow past this many bytes (0: never).
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept beside the current one.
    #[serde(default = "default_max_files")]
    pub max_files: usize,
}

fn default_max_bytes() -> u64 {
    100 * 1024 * 1024
}
fn default_max_files() -> usize {
    5
}

/// One per `[[sinks]]` table and process: the open file, its size and the rotation, shared by
/// the sink's `instances`. One writer, not one per instance, because two writers appending to
/// one path would each count only their own bytes (rotating late or twice) and each would cut
/// off as "torn" a line the other was in the middle of writing when it reopened.
pub struct FileWriter {
    config: FileConfig,
    file: Option<File>,
    size: u64,
}

/// A consumer's handle on the sink's [`FileWriter`]; it encodes into its own buffer and holds
/// the writer's lock only to write and fsync.
pub struct FileSink {
    writer: Arc<Mutex<FileWriter>>,
    format: Format,
    path: PathBuf,
    buf: String,
}

impl FileWriter {
    pub fn new(config: &FileConfig) -> Arc<Mutex<FileWriter>> {
        Arc::new(Mutex::new(FileWriter {
            config: config.clone(),
            file: None,
            size: 0,
        }))
    }

    /// Appends `buf` and fsyncs. Blocking file I/O on the runtime: one small write and one
    /// fsync per batch, which the batch size amortizes.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let len = buf.len() as u64;
        if self.config.max_bytes > 0 && self.size > 0 && self.size + len > self.config.max_bytes {
            self.file = None;
            rotate(&self.config.path, self.config.max_files)?;
        }
        let f = match &mut self.file {
            Some(f) => f,
            None => {
                if let Some(dir) = self.config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .read(true)
                    .open(&self.config.path)?;
                self.size = drop_torn_tail(&f)?;
                self.file.insert(f)
            }
        };
        let result = f.write_all(buf).and_then(|()| f.sync_data());
        if result.is_err() {
            // Reopen next time: a partial write may have moved the end.
            self.file = None;
        } else {
            self.size += len;
        }
        result
    }
}

impl FileSink {
    /// A sink with a writer of its own.
    #[cfg(test)]
    pub fn new(config: &FileConfig) -> Self {
        FileSink::sharing(FileWriter::new(config), config)
    }

    /// A sink that writes through `writer`, shared with the sink's other instances.
    pub fn sharing(writer: Arc<Mutex<FileWriter>>, config: &FileConfig) -> Self {
        FileSink {
            writer,
            format: config.format,
            path: config.path.clone(),
            buf: String::new(),
        }
    }
}

/// A process killed mid-write can leave a last line without its newline; that batch was never
/// acknowledged (it is delivered again), so the partial line is cut off rather than glued to the
/// next batch. Returns the file's length afterwards.
fn drop_torn_tail(f: &File) -> std::io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let len = f.metadata()?.len();
    let mut end = len;
    let mut chunk = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let buf = &mut chunk[..(end - start) as usize];
        f.read_exact_at(buf, start)?;
        if let Some(i) = buf.iter().rposition(|b| *b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        tracing::warn!(
            cut_bytes = len - end,
            "file sink: dropped a partial last line left by an interrupted write"
        );
        f.set_len(end)?;
    }
    Ok(end)
}

fn rotate(path: &Path, max_files: usize) -> std::io::Result<()> {
    let numbered = |i: usize| PathBuf::from(format!("{}.{i}", path.display()));
    if max_files == 0 {
        return std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(numbered(max_files));
    for i in (1..max_files).rev() {
        if numbered(i).exists() {
            std::fs::rename(numbered(i), numbered(i + 1))?;
        }
    }
    std::fs::rename(path, numbered(1))
}

impl Sink for FileSink {
    fn deliver<'a>(&'a mut self, batch: &'a [Metric]) -> SinkFuture<'a> {
        self.buf.clear();
        self.format.encode(batch, &mut self.buf);
        // A poisoned lock means another instance panicked mid-write; the writer's state is
        // still only a file handle and a byte count, and reopening re-reads both.
        let mut writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = writer
            .write(self.buf.as_bytes())
            .map_err(|e| SinkError::Transient(format!("{}: {e}", self.path.display())));
        drop(writer);
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_partial_last_line_from_an_interrupted_write_is_cut_off_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.lp");
        std::fs::write(&path, "cpu usage_idle=1 1\ncpu usage_id").unwrap();
        let mut sink = FileSink::new(&FileConfig {
            name: "f".into(),
            path: path.clone(),
            format: Format::Influx,
            max_bytes: 0,
            max_files: 1,
        });
        sink.deliver(&[Metric::new("cpu", 2).field("usage_idle", 2.0)])
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "cpu usage_idle=1 1\ncpu usage_idle=2 2\n"
        );
    }

    #[tokio::test]
    async fn rotates_by_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.lp");
        let mut sink = FileSink::new(&FileConfig {
            name: "f".into(),
            path: path.clone(),
            format: Format::Influx,
            max_bytes: 100,
            max_files: 2,
        });
        let batch = vec![Metric::new("cpu", 1).field("usage_idle", 1.0)];
        for _ in 0..20 {
            sink.deliver(&batch).await.unwrap();
        }
        let line = "cpu usage_idle=1 1\n";
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.len() <= 100 && current.len() % line.len() == 0);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("m.lp.1")).unwrap().len(),
            5 * line.len()
        );
        assert!(dir.path().join("m.lp.2").exists());
        assert!(!dir.path().join("m.lp.3").exists());
    }

    #[tokio::test]
    async fn instances_sharing_a_writer_rotate_by_their_combined_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.lp");
        let config = FileConfig {
            name: "f".into(),
            path: path.clone(),
            format: Format::Influx,
            max_bytes: 100,
            max_files: 10,
        };
        let writer = FileWriter::new(&config);
        let mut sinks = [
            FileSink::sharing(writer.clone(), &config),
            FileSink::sharing(writer.clone(), &config),
        ];
        let line = "cpu usage_idle=1 1\n";
        for i in 0..20 {
            let batch = vec![Metric::new("cpu", 1).field("usage_idle", 1.0)];
            sinks[i % 2].deliver(&batch).await.unwrap();
        }
        // 20 lines of 19 bytes, at most 5 per 100-byte file: m.lp.3, .2, .1 full, m.lp the rest.
        // Writers of their own would each have counted 10 lines and let the file reach 190 bytes.
        for name in ["m.lp.3", "m.lp.2", "m.lp.1", "m.lp"] {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert_eq!(text, line.repeat(5), "{name}");
        }
        assert!(!dir.path().join("m.lp.4").exists());
    }
}
