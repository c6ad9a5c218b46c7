//! An in-memory pager for tests and `:memory:` databases.

use super::{Pager, Rewrite};
use crate::error::Result;
use arrow::buffer::{Buffer, MutableBuffer};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;

/// Keeps blobs in 64-byte aligned Arrow buffers in a hash map.
#[derive(Default)]
pub struct MemoryPager {
    blobs: RwLock<HashMap<u64, Buffer>>,
}

impl MemoryPager {
    /// An empty in-memory pager.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Pager for MemoryPager {
    fn read(&self, keys: &[u64]) -> Result<Vec<Option<Buffer>>> {
        let blobs = self.blobs.read();
        Ok(keys.iter().map(|k| blobs.get(k).cloned()).collect())
    }

    fn write(&self, entries: &[(u64, &[u8])]) -> Result<()> {
        let mut blobs = self.blobs.write();
        for (key, bytes) in entries {
            // MutableBuffer allocates with 64-byte alignment, like the file's payloads.
            let mut buf = MutableBuffer::new(bytes.len());
            buf.extend_from_slice(bytes);
            blobs.insert(*key, buf.into());
        }
        Ok(())
    }

    fn delete(&self, keys: &[u64]) -> Result<()> {
        let mut blobs = self.blobs.write();
        for k in keys {
            blobs.remove(k);
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn size_bytes(&self) -> Result<u64> {
        Ok(self.blobs.read().values().map(|b| b.len() as u64).sum())
    }

    fn is_persistent(&self) -> bool {
        false
    }

    fn start_rewrite(&self) -> Result<Box<dyn Rewrite>> {
        Ok(Box::new(MemoryRewrite(Arc::new(MemoryPager::new()))))
    }
}

/// A rewrite of an in-memory database: a fresh map that the store switches to.
struct MemoryRewrite(Arc<MemoryPager>);

impl Rewrite for MemoryRewrite {
    fn pager(&self) -> Arc<dyn Pager> {
        Arc::clone(&self.0) as Arc<dyn Pager>
    }

    fn install(self: Box<Self>) -> Result<()> {
        Ok(())
    }

    fn abandon(self: Box<Self>) {}
}
