//! Incremental sync of the invoices KSeF holds for a company, per perspective
//! (`Subject1` seller, `Subject2` buyer, `Subject3`, `SubjectAuthorized`), following
//! ksef-docs `pobieranie-faktur/przyrostowe-pobieranie-faktur.md` and `hwm.md`:
//!
//! - adjacent `PermanentStorage` windows from the high-water mark, `restrictToPermanentStorageHwmDate`;
//! - volume through encrypted exports (a fresh AES key per export, wrapped with the KSeF key),
//!   status polling, `isTruncated` continuation from `lastPermanentStorageDate`;
//! - a metadata query plus single downloads for small windows (a recent cursor, few invoices),
//!   which spares the export budget (20/h) in the common "nothing or little new" case;
//! - de-duplication by KSeF number: an invoice is stored once;
//! - 429 → "wait until T" (the caller owns the clock), resumable from the persisted cursor;
//! - automatic syncs at least 15 minutes apart per subject (`limity-api.md`).
//!
//! The browser implements [`SyncStore`] on IndexedDB and drives [`SyncRun::step`] in a loop.

mod archive;
mod machine;
mod memory;
mod package;
mod search;
mod state;
mod store;

pub use archive::{Compression, Entry, crc32, gunzip, unpack, untar, unzip};
pub use machine::{Step, SyncPolicy, SyncRun, Trigger};
pub use memory::MemoryStore;
pub use package::{FetchedInvoice, parse_package};
pub use search::{EmptyCause, EmptyFacts, Filter, Row};
pub use state::{Phase, Progress, StoredKey, SubjectType, SyncCursor, SyncKey, Wait, WaitReason};
pub use store::{SyncError, SyncStore};
